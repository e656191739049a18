// The client's picture of the chat, and the pure-ish updates server frames make to it.
// Views read it; only app.js and these functions change it.

export function createState() {
  return {
    phase: 'signed-out', // 'signed-out' | 'resuming' | 'signed-in'
    me: null,
    net: 'connecting', // 'connecting' | 'online' | 'offline'
    route: { name: 'home' },
    auth: { busy: null, error: '' }, // busy: 'login' | 'register' | null
    conversations: new Map(), // with -> {with, last, unread}
    presence: new Map(), // username -> boolean
    threads: new Map(), // with -> Thread
    typing: new Map(), // username -> expiry (ms)
    search: { query: '', results: null },
  };
}

/** Forgets everything that belongs to the signed-in person. */
export function resetAccount(state) {
  state.me = null;
  state.conversations.clear();
  state.presence.clear();
  state.threads.clear();
  state.typing.clear();
  state.search = { query: '', results: null };
}

export function thread(state, other) {
  let t = state.threads.get(other);
  if (!t) {
    t = {
      messages: new Map(), // key -> message
      keyById: new Map(),
      hasMore: true,
      loaded: false,
      loading: null, // 'latest' | 'older' | null
      error: '',
      theirRead: '', // newest id the other person has read
      readSent: '', // newest id we told the server we read
    };
    state.threads.set(other, t);
  }
  return t;
}

const keyOf = (m) => `${m.from}/${m.client_id || m.id}`;
export const otherParty = (state, m) => (m.from === state.me ? m.to : m.from);

/** Adds or updates one message in its thread; never duplicates (matched by sender + client_id). */
export function upsertMessage(state, wire, status = 'sent') {
  const other = otherParty(state, wire);
  const t = thread(state, other);
  if (wire.id && t.keyById.has(wire.id)) return { thread: t, message: t.messages.get(t.keyById.get(wire.id)), added: false };
  const key = keyOf(wire);
  const existing = t.messages.get(key);
  if (existing) {
    if (wire.id && !existing.id) {
      existing.id = wire.id;
      existing.ts = wire.ts;
      existing.status = 'sent';
      existing.error = '';
      t.keyById.set(wire.id, key);
    }
    return { thread: t, message: existing, added: false };
  }
  const message = {
    key,
    id: wire.id || '',
    from: wire.from,
    to: wire.to,
    text: wire.text,
    ts: wire.ts,
    client_id: wire.client_id || '',
    status: wire.id ? 'sent' : status,
    error: '',
  };
  t.messages.set(key, message);
  if (message.id) t.keyById.set(message.id, key);
  return { thread: t, message, added: true };
}

/** Messages oldest first: stored ones by id, then pending ones in the order they were written. */
export function sortedMessages(t) {
  const stored = [];
  const pending = [];
  for (const m of t.messages.values()) (m.id ? stored : pending).push(m);
  stored.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return stored.concat(pending);
}

export function oldestId(t) {
  let oldest = '';
  for (const m of t.messages.values()) if (m.id && (!oldest || m.id < oldest)) oldest = m.id;
  return oldest;
}

export function newestFrom(t, sender) {
  let newest = null;
  for (const m of t.messages.values()) {
    if (m.id && m.from === sender && (!newest || m.id > newest.id)) newest = m;
  }
  return newest;
}

/** Keeps the conversations list's `last` in step with a message. */
export function touchConversation(state, m) {
  const other = otherParty(state, m);
  const conv = state.conversations.get(other);
  const last = { id: m.id, from: m.from, to: m.to, text: m.text, ts: m.ts, client_id: m.client_id };
  if (!conv) {
    state.conversations.set(other, { with: other, last, unread: 0 });
    return state.conversations.get(other);
  }
  const newer = !conv.last || (m.id && conv.last.id ? m.id >= conv.last.id : m.ts >= conv.last.ts);
  if (newer) conv.last = last;
  return conv;
}

export function sortedConversations(state) {
  return [...state.conversations.values()].sort((a, b) => {
    const at = a.last ? a.last.ts : '';
    const bt = b.last ? b.last.ts : '';
    return at < bt ? 1 : at > bt ? -1 : 0;
  });
}

export function applyConversations(state, items) {
  const fresh = new Map();
  for (const item of items) {
    fresh.set(item.with, { with: item.with, last: item.last, unread: item.unread || 0 });
    state.presence.set(item.with, Boolean(item.online));
    // How far they have read our messages, so receipts survive a reload.
    const t = thread(state, item.with);
    if (item.their_read_up_to && item.their_read_up_to > t.theirRead) {
      t.theirRead = item.their_read_up_to;
    }
  }
  // Keep conversations that only exist locally so far (a message still on its way).
  for (const [other, conv] of state.conversations) {
    if (!fresh.has(other) && conv.last && !conv.last.id) fresh.set(other, conv);
  }
  state.conversations = fresh;
}

/**
 * Merges a history page. `kind` is what we asked for: 'latest' (no `before`) or 'older'.
 */
export function applyHistory(state, other, messages, more, kind) {
  const t = thread(state, other);
  const before = oldestId(t);
  if (kind === 'latest' && more && messages.length && before) {
    // If the fresh page does not reach what we hold, there is a gap: start over from it.
    const newestHeld = [...t.keyById.keys()].sort().pop();
    if (newestHeld && messages[0].id > newestHeld) {
      for (const [key, m] of t.messages) if (m.id) t.messages.delete(key);
      t.keyById.clear();
    }
  }
  for (const wire of messages) upsertMessage(state, wire);
  const after = oldestId(t);
  if (kind === 'older' || !before || after !== before || !messages.length) t.hasMore = more;
  t.loaded = true;
  t.loading = null;
  t.error = '';
  return t;
}

export function applyRead(state, frame) {
  if (frame.by === state.me) {
    // We (maybe in another tab) read the conversation with frame.with.
    const t = thread(state, frame.with);
    if (frame.up_to > t.readSent) t.readSent = frame.up_to;
    const conv = state.conversations.get(frame.with);
    if (conv) conv.unread = 0;
  } else {
    const t = thread(state, frame.by);
    if (frame.up_to > t.theirRead) t.theirRead = frame.up_to;
  }
}

/** The delivery state shown under one of our own messages. */
export function deliveryStatus(t, m) {
  if (m.status !== 'sent') return m.status; // 'pending' | 'failed'
  return t.theirRead && m.id <= t.theirRead ? 'read' : 'sent';
}

export function totalUnread(state) {
  let total = 0;
  for (const conv of state.conversations.values()) total += conv.unread;
  return total;
}
