// One WebSocket that stays up: reconnects with exponential backoff and jitter,
// pings to stay inside API Gateway's 10-minute idle timeout, and notices a
// connection that died silently.

const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 15000;
const PING_EVERY_MS = 5 * 60 * 1000;
const PONG_WITHIN_MS = 20000;

export class Connection {
  /**
   * @param {string} url
   * @param {{onOpen: () => void, onFrame: (frame: object) => void,
   *          onStatus: (status: 'connecting'|'online'|'offline') => void}} handlers
   */
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.socket = null;
    this.attempt = 0;
    this.retryTimer = 0;
    this.pingTimer = 0;
    this.pongTimer = 0;
    this.status = 'connecting';
    window.addEventListener('online', () => this.reconnectNow());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.reconnectNow();
    });
  }

  get isOpen() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  start() {
    clearTimeout(this.retryTimer);
    this.retryTimer = 0;
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.addEventListener('open', () => {
      if (socket !== this.socket) return;
      this.attempt = 0;
      this.setStatus('online');
      this.startPinging();
      this.handlers.onOpen();
    });
    socket.addEventListener('message', (event) => {
      if (socket !== this.socket) return;
      this.sawTraffic();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame && typeof frame === 'object' && typeof frame.type === 'string') {
        this.handlers.onFrame(frame);
      }
    });
    socket.addEventListener('close', () => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.stopPinging();
      this.scheduleRetry();
    });
    // 'error' is always followed by 'close'; nothing to do here.
  }

  /** Sends a frame if the socket is open; returns whether it went out. */
  send(frame) {
    if (!this.isOpen) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  /** Skips the wait when the network is back or the tab became visible. */
  reconnectNow() {
    if (this.socket === null && this.retryTimer) {
      this.attempt = 0;
      this.start();
    }
  }

  setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.handlers.onStatus(status);
  }

  scheduleRetry() {
    this.setStatus('offline');
    // "Equal jitter": half the backoff is fixed, half random, so tabs spread out.
    const backoff = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    const delay = backoff / 2 + Math.random() * (backoff / 2);
    this.attempt = Math.min(this.attempt + 1, 16);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = 0;
      this.start();
    }, delay);
  }

  startPinging() {
    this.stopPinging();
    this.pingTimer = setInterval(() => {
      if (!this.send({ action: 'ping' })) return;
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => this.dropDeadSocket(), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  stopPinging() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = 0;
    this.pongTimer = 0;
  }

  sawTraffic() {
    clearTimeout(this.pongTimer);
    this.pongTimer = 0;
  }

  dropDeadSocket() {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    this.stopPinging();
    socket.close();
    this.scheduleRetry();
  }
}
