// URLs: "/" is the conversations list, "/chat/<username>" one conversation.

import { isUsername } from './rules.js';

/** The route a path names; `isName` says which names are usernames (the config's rule). */
export function parseRoute(pathname, isName = isUsername) {
  const match = /^\/chat\/([^/]+)\/?$/.exec(pathname);
  if (match) {
    let name = '';
    try {
      name = decodeURIComponent(match[1]).toLowerCase();
    } catch {
      name = '';
    }
    if (isName(name)) return { name: 'chat', with: name };
  }
  return { name: 'home' };
}

export const chatPath = (username) => `/chat/${encodeURIComponent(username)}`;

export function createRouter(onChange, isName = isUsername) {
  const route = () => parseRoute(location.pathname, isName);
  const go = (path, { replace = false } = {}) => {
    if (path !== location.pathname) {
      if (replace) history.replaceState(null, '', path);
      else history.pushState(null, '', path);
    }
    onChange(route());
  };
  window.addEventListener('popstate', () => onChange(route()));
  // In-app links carry data-nav; ordinary clicks stay in the page, others open tabs.
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[data-nav]');
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    go(link.getAttribute('href'));
  });
  const initial = route();
  if (initial.name === 'home' && location.pathname !== '/') history.replaceState(null, '', '/');
  return { go, current: route, initial };
}
