// Wires the connection, the state and the views together: what each server
// frame changes, and what each user action sends.

import { Connection } from './connection.js';
import { byId } from './dom.js';
import { checkRegistration, describeError, MAX_TEXT } from './errors.js';
import { createRouter } from './router.js';
import {
  applyConversations, applyHistory, applyRead, createState, newestFrom, oldestId, otherParty,
  resetAccount, thread, totalUnread, touchConversation, upsertMessage,
} from './state.js';
import { newClientId, outbox, session } from './storage.js';
import { announce } from './views/announcer.js';
import { initBanner, renderBanner } from './views/banner.js';
import { initConversation, renderConversation } from './views/conversation.js';
import { clearSearchBox, initSidebar, renderSidebar } from './views/sidebar.js';
import { clearSigninForm, initSignin, renderSignin } from './views/signin.js';

const HISTORY_PAGE = 50;
const TYPING_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 5000;
const LOGOUT_WAIT_MS = 1500;

const state = createState();
const typingSentAt = new Map();
let pendingAuth = null; // a login/register frame waiting for the socket to open
let signOutTimer = 0;
let connection = null;

function websocketUrl() {
  const configured = window.CHAT_CONFIG && window.CHAT_CONFIG.websocketUrl;
  if (configured) return configured;
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
}

// Rendering: many frames can arrive at once; draw once after them.

let drawQueued = false;
function render() {
  if (drawQueued) return;
  drawQueued = true;
  queueMicrotask(draw);
}

function draw() {
  drawQueued = false;
  const signedOut = state.phase === 'signed-out';
  const layout = byId('chat');
  layout.hidden = signedOut;
  layout.classList.toggle('layout--chat-open', state.route.name === 'chat');
  layout.classList.toggle('layout--offline', state.net !== 'online');
  renderBanner(state);
  renderSignin(state);
  if (signedOut) return;
  renderSidebar(state);
  const open = state.route.name === 'chat';
  renderConversation(state, open ? thread(state, state.route.with) : null);
  const unread = totalUnread(state);
  const title = open ? `${state.route.with} · Chat` : 'Chat';
  document.title = unread ? `(${unread}) ${title}` : title;
}

// Sending helpers

const signedIn = () => state.phase === 'signed-in';

function send(frame) {
  return signedIn() && connection.send(frame);
}

function requestHistory(other, kind) {
  const t = thread(state, other);
  if (t.loading || !signedIn()) return;
  const frame = { action: 'history', with: other, limit: HISTORY_PAGE };
  if (kind === 'older') {
    const before = oldestId(t);
    if (!t.loaded || !t.hasMore || !before) return;
    frame.before = before;
  }
  if (send(frame)) {
    t.loading = kind;
    render();
  }
}

const isReading = (other) =>
  signedIn() && state.route.name === 'chat' && state.route.with === other &&
  document.visibilityState === 'visible';

/** Tells the server we have seen the newest message of the open conversation. */
function markRead() {
  if (state.route.name !== 'chat' || !isReading(state.route.with)) return;
  const other = state.route.with;
  const t = thread(state, other);
  const newest = newestFrom(t, other);
  if (!newest) return;
  const conv = state.conversations.get(other);
  if (newest.id <= t.readSent && !(conv && conv.unread > 0)) return;
  if (send({ action: 'read', with: other, up_to: newest.id })) {
    if (newest.id > t.readSent) t.readSent = newest.id;
    if (conv) conv.unread = 0;
    render();
  }
}

function findOwn(clientId) {
  const key = `${state.me}/${clientId}`;
  for (const t of state.threads.values()) {
    const m = t.messages.get(key);
    if (m) return m;
  }
  return null;
}

function sendOutbox() {
  for (const item of outbox.list(state.me)) {
    const wire = { from: state.me, to: item.to, text: item.text, ts: item.ts, client_id: item.client_id };
    const { message } = upsertMessage(state, wire, 'pending');
    if (message.id) {
      outbox.remove(state.me, item.client_id); // already stored: history showed it
      continue;
    }
    message.status = 'pending';
    touchConversation(state, message);
    send({ action: 'send', to: item.to, text: item.text, client_id: item.client_id });
  }
}

// Server frames

function onWelcome(frame) {
  const fromSignIn = state.phase === 'signed-out';
  if (state.me && state.me !== frame.username) resetAccount(state);
  state.me = frame.username;
  state.phase = 'signed-in';
  state.auth = { busy: null, error: '' };
  session.save(frame.username, frame.token);
  clearSigninForm();
  if (fromSignIn && state.route.name === 'home') queueMicrotask(() => byId('find-user').focus());
  for (const t of state.threads.values()) t.loading = null;
  if (state.route.name === 'chat' && state.route.with === state.me) router.go('/', { replace: true });
  send({ action: 'conversations' });
  if (state.route.name === 'chat') requestHistory(state.route.with, 'latest');
  sendOutbox();
  if (state.search.query) send({ action: 'users', query: state.search.query });
}

function onMessage(frame) {
  const other = otherParty(state, frame);
  const isNew = !state.conversations.has(other);
  const { message, added } = upsertMessage(state, frame);
  const conv = touchConversation(state, message);
  // A new conversation: fetch the list again for the other person's presence.
  if (isNew) send({ action: 'conversations' });
  if (added && frame.from !== state.me) {
    state.presence.set(other, true); // they just sent it, so they are online
    state.typing.delete(other);
    if (!isReading(other)) conv.unread += 1;
    const preview = frame.text.length > 140 ? `${frame.text.slice(0, 140)}…` : frame.text;
    announce(`New message from ${frame.from}: ${preview}`);
  }
  markRead();
}

function onAck(frame) {
  const m = findOwn(frame.client_id);
  outbox.remove(state.me, frame.client_id);
  if (!m) return;
  const t = thread(state, m.to);
  if (!t.keyById.has(frame.id)) {
    m.id = frame.id;
    m.ts = frame.ts;
    t.keyById.set(frame.id, m.key);
  }
  m.status = 'sent';
  m.error = '';
  touchConversation(state, m);
}

function onError(frame) {
  switch (frame.action) {
    case 'login':
    case 'register':
      state.auth = { busy: null, error: describeError(frame) };
      return;
    case 'resume':
      if (frame.code === 'bad_token') {
        session.clear();
        resetAccount(state);
        state.phase = 'signed-out';
        state.auth = { busy: null, error: describeError(frame) };
      } else {
        setTimeout(resume, 3000);
      }
      return;
    case 'send': {
      const m = frame.client_id && findOwn(frame.client_id);
      if (frame.client_id) outbox.remove(state.me, frame.client_id);
      if (m && !m.id) {
        m.status = 'failed';
        m.error = describeError(frame);
      }
      return;
    }
    case 'history':
      for (const [other, t] of state.threads) {
        if (!t.loading) continue;
        t.loading = null;
        t.loaded = true;
        t.hasMore = false;
        if (state.route.name === 'chat' && state.route.with === other) t.error = describeError(frame);
      }
      return;
    case 'users':
      state.search.results = [];
      return;
    default:
      // unauthenticated: the server no longer knows this connection; sign it in again
      if (frame.code === 'unauthenticated' && session.token) {
        state.phase = 'resuming';
        resume();
      }
  }
}

const FRAMES = {
  welcome: onWelcome,
  message: onMessage,
  ack: onAck,
  error: onError,
  history(frame) {
    const t = thread(state, frame.with);
    applyHistory(state, frame.with, frame.messages || [], Boolean(frame.more), t.loading || 'latest');
    markRead();
  },
  conversations(frame) {
    applyConversations(state, frame.items || []);
    markRead();
  },
  users(frame) {
    if (!state.search.query) return;
    state.search.results = frame.items || [];
    for (const item of state.search.results) state.presence.set(item.username, Boolean(item.online));
  },
  presence(frame) {
    state.presence.set(frame.username, Boolean(frame.online));
  },
  read(frame) {
    applyRead(state, frame);
  },
  typing(frame) {
    state.typing.set(frame.from, Date.now() + TYPING_SHOWN_MS);
    setTimeout(render, TYPING_SHOWN_MS + 50);
  },
  bye: finishSignOut,
  pong() {},
};

function onFrame(frame) {
  const handler = FRAMES[frame.type];
  if (!handler) return;
  handler(frame);
  render();
}

// Connection life

function resume() {
  const token = session.token;
  if (token && connection.isOpen) connection.send({ action: 'resume', token });
}

function onOpen() {
  if (pendingAuth) {
    connection.send(pendingAuth);
    pendingAuth = null;
  } else if (state.phase !== 'signed-out') {
    resume();
  }
}

function onStatus(status) {
  state.net = status;
  if (status === 'offline') {
    if (state.phase === 'signed-in') state.phase = 'resuming';
    for (const t of state.threads.values()) t.loading = null;
    if (state.auth.busy && !pendingAuth) {
      state.auth = { busy: null, error: 'The connection dropped. Please try again.' };
    }
  }
  render();
}

// User actions

function submitAuth(frame, busy) {
  state.auth = { busy, error: '' };
  if (!connection.send(frame)) pendingAuth = frame;
  render();
}

function signIn({ username, password }) {
  if (!username || !password) {
    state.auth = { busy: null, error: 'Enter your username and password.' };
    render();
    return;
  }
  submitAuth({ action: 'login', username, password }, 'login');
}

function register({ username, password }) {
  const problem = checkRegistration(username, password);
  if (problem) {
    state.auth = { busy: null, error: problem };
    render();
    return;
  }
  submitAuth({ action: 'register', username, password }, 'register');
}

function signOut() {
  if (send({ action: 'logout' })) {
    signOutTimer = setTimeout(finishSignOut, LOGOUT_WAIT_MS);
  } else {
    finishSignOut();
  }
}

function finishSignOut() {
  clearTimeout(signOutTimer);
  if (state.me) outbox.clear(state.me);
  session.clear();
  resetAccount(state);
  state.phase = 'signed-out';
  state.auth = { busy: null, error: '' };
  clearSearchBox();
  router.go('/', { replace: true });
}

function sendMessage(text) {
  if (state.route.name !== 'chat' || state.phase === 'signed-out' || text.length > MAX_TEXT) return false;
  const to = state.route.with;
  const item = { client_id: newClientId(), to, text, ts: new Date().toISOString() };
  outbox.add(state.me, item);
  const { message } = upsertMessage(state, { ...item, from: state.me }, 'pending');
  touchConversation(state, message);
  send({ action: 'send', to, text, client_id: item.client_id });
  render();
  return true;
}

function retry(key) {
  for (const t of state.threads.values()) {
    const m = t.messages.get(key);
    if (!m || m.status !== 'failed') continue;
    m.status = 'pending';
    m.error = '';
    outbox.add(state.me, { client_id: m.client_id, to: m.to, text: m.text, ts: m.ts });
    send({ action: 'send', to: m.to, text: m.text, client_id: m.client_id });
    render();
  }
}

function typing() {
  if (state.route.name !== 'chat') return;
  const to = state.route.with;
  const now = Date.now();
  if (now - (typingSentAt.get(to) || 0) < TYPING_EVERY_MS) return;
  if (send({ action: 'typing', to })) typingSentAt.set(to, now);
}

function search(query) {
  state.search = { query, results: null };
  if (query) send({ action: 'users', query: query.slice(0, 32) });
  render();
}

function onRoute(route) {
  if (route.name === 'chat' && route.with === state.me) {
    router.go('/', { replace: true }); // there is no conversation with yourself
    return;
  }
  state.route = route;
  if (state.search.query) {
    state.search = { query: '', results: null };
    clearSearchBox();
  }
  if (route.name === 'chat') {
    const t = thread(state, route.with);
    if (!t.loaded) requestHistory(route.with, 'latest');
    markRead();
  }
  render();
}

// Start

const router = createRouter(onRoute);
state.route = router.initial;
if (session.token) {
  state.phase = 'resuming';
  state.me = session.username;
}

initSignin({ onSignIn: signIn, onRegister: register });
initBanner({ onRetry: () => connection.reconnectNow() });
initSidebar({ onSearch: search, onSignOut: signOut });
initConversation({
  onSend: sendMessage,
  onTyping: typing,
  onNeedOlder: () => state.route.name === 'chat' && requestHistory(state.route.with, 'older'),
  onRetry: retry,
});

document.addEventListener('visibilitychange', () => {
  markRead();
  render();
});

// Another tab signed in or out.
window.addEventListener('storage', (event) => {
  if (event.key !== session.TOKEN && event.key !== null) return;
  if (!session.token && state.phase !== 'signed-out') {
    resetAccount(state);
    state.phase = 'signed-out';
    router.go('/', { replace: true });
  } else if (session.token && state.phase === 'signed-out') {
    state.phase = 'resuming';
    state.me = session.username;
    resume();
    render();
  }
});

connection = new Connection(websocketUrl(), { onOpen, onFrame, onStatus });
connection.start();
render();
