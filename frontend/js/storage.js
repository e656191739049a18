// The session token and the outbox of unsent messages, kept in localStorage
// so reloads and new tabs stay signed in and nothing typed offline is lost.

const TOKEN = 'chat.token';
const USERNAME = 'chat.username';
const outboxKey = (username) => `chat.outbox.${username}`;

function read(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // storage full or disabled: the session still works until the tab closes
  }
}

export const session = {
  TOKEN,
  get token() { return read(TOKEN); },
  get username() { return read(USERNAME); },
  save(username, token) {
    write(USERNAME, username);
    write(TOKEN, token);
  },
  clear() {
    write(TOKEN, null);
    write(USERNAME, null);
  },
};

/** Messages sent but not yet acknowledged, oldest first: {client_id, to, text, ts}. */
export const outbox = {
  list(username) {
    try {
      const items = JSON.parse(read(outboxKey(username)) || '[]');
      return Array.isArray(items) ? items : [];
    } catch {
      return [];
    }
  },
  add(username, item) {
    const items = outbox.list(username).filter((i) => i.client_id !== item.client_id);
    items.push(item);
    write(outboxKey(username), JSON.stringify(items));
  },
  remove(username, clientId) {
    const items = outbox.list(username);
    const kept = items.filter((i) => i.client_id !== clientId);
    if (kept.length !== items.length) {
      write(outboxKey(username), kept.length ? JSON.stringify(kept) : null);
    }
  },
  clear(username) {
    write(outboxKey(username), null);
  },
};

/** A fresh client_id: 128 random bits as hex (works outside secure contexts too). */
export function newClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
