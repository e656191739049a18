// URLs: "/" is the conversations list, "/chat/<username>" one conversation.

const USERNAME = /^[a-z0-9_.-]{3,32}$/;

export function parseRoute(pathname) {
  const match = /^\/chat\/([^/]+)\/?$/.exec(pathname);
  if (match) {
    let name = '';
    try {
      name = decodeURIComponent(match[1]).toLowerCase();
    } catch {
      name = '';
    }
    if (USERNAME.test(name)) return { name: 'chat', with: name };
  }
  return { name: 'home' };
}

export const chatPath = (username) => `/chat/${encodeURIComponent(username)}`;

export function createRouter(onChange) {
  const go = (path, { replace = false } = {}) => {
    if (path !== location.pathname) {
      if (replace) history.replaceState(null, '', path);
      else history.pushState(null, '', path);
    }
    onChange(parseRoute(location.pathname));
  };
  window.addEventListener('popstate', () => onChange(parseRoute(location.pathname)));
  // In-app links carry data-nav; ordinary clicks stay in the page, others open tabs.
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[data-nav]');
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    go(link.getAttribute('href'));
  });
  const initial = parseRoute(location.pathname);
  if (initial.name === 'home' && location.pathname !== '/') history.replaceState(null, '', '/');
  return { go, current: () => parseRoute(location.pathname), initial };
}
