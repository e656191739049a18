// The banner shown while the connection is down.

import { byId, setText } from '../dom.js';

export function initBanner({ onRetry }) {
  byId('banner-retry').addEventListener('click', onRetry);
}

export function renderBanner(state) {
  const banner = byId('connection-banner');
  const offline = state.net === 'offline';
  banner.hidden = !offline;
  if (offline) {
    setText(
      byId('banner-text'),
      state.phase === 'signed-out'
        ? 'Can’t reach the chat server. Reconnecting…'
        : 'Connection lost. Reconnecting… Messages you write will be sent when it’s back.',
    );
  }
}
