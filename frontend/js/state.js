// The client's picture of the chat, and the helpers that change it. Only update.js calls
// the changing helpers, and always on its own copy of the state; views only read.

import { DEFAULT_RULES } from './rules.js';

/** Whether we know that no account has this username. */
export const isMissing = (state, name) => state.known.get(name) === false;

/** A fresh state. `session` is what localStorage remembers: {username, token}. */
export function createState({ route = { name: 'home' }, session = {}, rules = DEFAULT_RULES, visible = true } = {}) {
  const resuming = Boolean(session.token);
  return {
    phase: resuming ? 'resuming' : 'signed-out', // 'signed-out' | 'resuming' | 'signed-in'
    me: resuming ? session.username || null : null,
    token: session.token || null,
    net: 'connecting', // 'connecting' | 'online' | 'offline'
    visible, // whether the tab is shown (messages in the open conversation count as read)
    route,
    rules, // limits from /config.js (see rules.js)
    auth: { busy: null, error: '', notice: '' }, // busy: 'login' | 'register' | null;
    // notice: why this device was signed out (shown on the sign-in screen)
    account: freshAccount(), // the Account dialog (change password, sign out everywhere)
    pendingAuth: null, // a login/register frame waiting for the socket to open
    signingOut: false, // logout sent, waiting for bye
    conversations: new Map(), // with -> {with, last, unread}
    // paging of the conversations list: loading 'first' | 'more' | null; again: fetch
    // the first page once the reply in flight is in
    conversationsPage: { more: false, next: null, loading: null, again: false },
    presence: new Map(), // username -> boolean
    threads: new Map(), // with -> Thread
    typing: new Map(), // username -> expiry (ms)
    typingSentAt: new Map(), // username -> when we last told them we type (ms)
    search: { query: '', results: null },
    known: new Map(), // username -> whether that account exists (as far as we have seen)
    usersAsked: [], // what each `users` request in flight was for, oldest first
    scroll: freshScroll(), // the open conversation's scroll position, as the view reports it
    welcomed: false, // a welcome came on this page already (focus moves only on the first)
    blocked: new Map(), // username -> true: people I block
    // the open conversation's message tools: editing {key, id, text}; confirming a delete
    // (key); the reaction picker open (key); confirming a block (username)
    tools: freshTools(),
    // files being sent, in the order chosen: clientId -> Upload (see uploads below)
    uploads: new Map(),
    // when a refresh of each message's expired link was last asked: key -> ms
    linkRefreshedAt: new Map(),
    downloadWanted: '', // the message whose download waits for a refreshed link
  };
}

/*
 * An Upload (state.uploads), from the file chosen to the message that carries it:
 *   status 'preparing'  the browser reads (and maybe scales) the file
 *          'queued'     ready, waiting for the connection (asked once it is back)
 *          'asking'     the `upload` frame went out; its reply gives where to POST
 *          'posting'    the file is being POSTed (progress 0..100)
 *          'posted'     stored; waits for the files chosen before it (messages keep that order)
 *          'failed'     error says why; Retry unless final (final: refused for good)
 *   Once posted (and the earlier ones sent) it leaves state.uploads and becomes a pending
 *   message whose `attachment` names the upload (sent, and kept in the outbox, like any
 *   message).
 */
export function newUpload({ clientId, to, name, type, size, ts }) {
  return {
    clientId, to, name, type, size, ts,
    status: 'preparing',
    progress: 0,
    uploadId: '', url: '', fields: null, expiresAt: 0, // from the `upload` reply
    previewUrl: '', // a blob: URL of the file (photos), for the sender's own copy
    error: '', final: false, waitUntil: 0,
    auto: false, // a failure to reach the server: tried again after the next welcome too
  };
}

/**
 * The Account dialog: open; busy 'password' | 'everywhere' | null; error, the field it is
 * about ('current' | 'new' | '') and done: what the last change-password attempt came to;
 * confirming: "Sign out everywhere?" is asked; everywhereError: why that did not happen.
 */
export const freshAccount = () => ({
  open: false, busy: null, error: '', field: '', done: '', confirming: false, everywhereError: '',
});

export const freshTools = () => ({ editing: null, deleting: '', picking: '', blocking: '' });

/** atBottom: the thread shows its newest message; newBelow: one arrived while it did not. */
export const freshScroll = () => ({ atBottom: true, newBelow: false });

/** Forgets everything that belongs to the signed-in person. */
export function resetAccount(state) {
  state.me = null;
  state.conversations.clear();
  state.presence.clear();
  state.threads.clear();
  state.typing.clear();
  state.search = { query: '', results: null };
  state.conversationsPage = { more: false, next: null, loading: null, again: false };
  state.typingSentAt.clear();
  state.known.clear();
  state.usersAsked = [];
  state.scroll = freshScroll();
  state.account = freshAccount();
  state.blocked.clear();
  state.tools = freshTools();
  state.uploads.clear();
  state.linkRefreshedAt.clear();
  state.downloadWanted = '';
}

function emptyThread() {
  return {
    messages: new Map(), // key -> message
    keyById: new Map(),
    hasMore: true,
    loaded: false,
    loading: null, // 'latest' | 'older' | null
    error: '',
    theirRead: '', // newest id the other person has read
    readSent: '', // newest id we told the server we read
    // the unread divider: `count` messages of theirs were unread when we opened the
    // conversation; `firstId` is the first of them once it is loaded ('' until then)
    unreadMark: null,
  };
}

/** The thread with `other`, created empty if there is none yet (changes `state`). */
export function thread(state, other) {
  let t = state.threads.get(other);
  if (!t) {
    t = emptyThread();
    state.threads.set(other, t);
  }
  return t;
}

/** The thread with `other` for reading: an empty one if there is none (changes nothing). */
export const threadOf = (state, other) => state.threads.get(other) || emptyThread();

const keyOf = (m) => `${m.from}/${m.client_id || m.id}`;
export const otherParty = (state, m) => (m.from === state.me ? m.to : m.from);

/**
 * Adds or updates one message in its thread; never duplicates (matched by id, else by
 * sender + client_id). A stored copy (with an id) turns a pending or failed one into 'sent'.
 */
export function upsertMessage(state, wire, status = 'sent') {
  const other = otherParty(state, wire);
  const t = thread(state, other);
  const key = (wire.id && t.keyById.get(wire.id)) || keyOf(wire);
  const existing = t.messages.get(key);
  if (existing) {
    if (wire.id && !existing.id) {
      existing.id = wire.id;
      existing.ts = wire.ts;
      t.keyById.set(wire.id, key);
    }
    if (wire.id) {
      existing.status = 'sent';
      existing.error = '';
      existing.final = false;
      takeChanges(existing, wire);
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
    error: '', // why it failed, in plain words
    final: false, // a failure that retrying cannot fix (the server refused the message itself)
    waitUntil: 0, // rate-limited: Retry is offered again after this time (ms)
    edited_at: wire.edited_at || '', // set once it was edited
    deleted: Boolean(wire.deleted), // a tombstone: deleted for everyone, no text
    reactions: wire.reactions || {}, // emoji -> [usernames]
    // {id, name, type, size, url}; a copy not yet from the server has `local: true` and
    // the file's own blob: URL (or '') as its url
    attachment: wire.deleted ? null : wire.attachment || null,
  };
  t.messages.set(key, message);
  if (message.id) t.keyById.set(message.id, key);
  return { thread: t, message, added: true };
}

/** A stored copy (history, conversations) says what became of the message since. */
function takeChanges(m, wire) {
  if (typeof wire.text === 'string' && wire.text !== m.text) m.text = wire.text;
  if (wire.edited_at && wire.edited_at !== m.edited_at) m.edited_at = wire.edited_at;
  if (wire.attachment && !wire.deleted) m.attachment = wire.attachment; // a freshly signed url
  if (wire.deleted && !m.deleted) {
    m.deleted = true;
    m.text = '';
    m.attachment = null;
  }
  if (wire.reactions) m.reactions = wire.reactions;
}

/** The message with this server id, in whichever thread holds it: {other, thread, message} or null. */
export function findById(state, id) {
  if (!id) return null;
  for (const [other, t] of state.threads) {
    const key = t.keyById.get(id);
    if (key && t.messages.has(key)) return { other, thread: t, message: t.messages.get(key) };
  }
  return null;
}

/** Sets `by`'s reaction to a message (one per person: `on` replaces any other), or removes it. */
export function applyReaction(m, by, emoji, on) {
  const next = {};
  for (const [e, names] of Object.entries(m.reactions || {})) {
    const rest = names.filter((n) => n !== by);
    if (rest.length) next[e] = rest;
  }
  if (on) next[emoji] = [...(next[emoji] || []), by];
  m.reactions = next;
}

/** The emoji `who` reacted with to `m`, or ''. */
export function reactionOf(m, who) {
  for (const [e, names] of Object.entries(m.reactions || {})) if (names.includes(who)) return e;
  return '';
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

/** A message as the conversations list keeps it (`last`). */
export const summaryOf = (m) => ({
  id: m.id, from: m.from, to: m.to, text: m.text, ts: m.ts, client_id: m.client_id,
  ...(m.deleted ? { deleted: true } : {}), ...(m.edited_at ? { edited_at: m.edited_at } : {}),
  ...(m.attachment ? { attachment: m.attachment } : {}),
});

export const isPhoto = (attachment) => Boolean(attachment) && /^image\//.test(attachment.type);

/**
 * A message in one line, for the conversations list and announcements: its text, else
 * what it carries ("Photo", "📎 report.pdf").
 */
export function previewText(m) {
  if (m.deleted) return 'This message was deleted';
  const text = (m.text || '').replace(/\s+/g, ' ').trim();
  if (text || !m.attachment) return text;
  return isPhoto(m.attachment) ? '📷 Photo' : `📎 ${m.attachment.name}`;
}

/** Keeps the conversations list's `last` in step with a message. */
export function touchConversation(state, m) {
  const other = otherParty(state, m);
  const conv = state.conversations.get(other);
  const last = summaryOf(m);
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

function conversationFrom(state, item) {
  state.presence.set(item.with, Boolean(item.online));
  // How far they have read our messages, so receipts survive a reload.
  const t = thread(state, item.with);
  if (item.their_read_up_to && item.their_read_up_to > t.theirRead) t.theirRead = item.their_read_up_to;
  if (item.blocked) state.blocked.set(item.with, true);
  else state.blocked.delete(item.with);
  return { with: item.with, last: item.last, unread: item.unread || 0 };
}

/**
 * Merges a `conversations` reply. `kind` is what we asked for: 'first' (no `before`) or
 * 'more' (the page after `conversationsPage.next`). A reply without `more` is the whole
 * list (servers before paging).
 */
export function applyConversations(state, frame, kind = 'first') {
  const items = frame.items || [];
  const page = state.conversationsPage;
  const more = frame.more === true;
  const next = more && typeof frame.next === 'string' && frame.next ? frame.next : null;
  if (kind === 'more') {
    for (const item of items) {
      const held = state.conversations.get(item.with);
      // A conversation that moved up since is already newer here than on this older page.
      if (held && held.last && held.last.id && !(item.last && item.last.id >= held.last.id)) continue;
      state.conversations.set(item.with, conversationFrom(state, item));
    }
    page.more = Boolean(next);
    page.next = next;
    return;
  }
  const fresh = new Map();
  for (const item of items) fresh.set(item.with, conversationFrom(state, item));
  // The first page replaces what it covers; pages loaded beyond it stay, and so does
  // where the next of those starts.
  const boundary = more && items.length ? items[items.length - 1].last?.id || '' : '';
  let keptOlder = false;
  for (const [other, conv] of state.conversations) {
    if (fresh.has(other)) continue;
    const localOnly = conv.last && !conv.last.id; // a message still on its way
    const beyond = boundary && conv.last && conv.last.id && conv.last.id < boundary;
    if (localOnly || beyond) fresh.set(other, conv);
    if (beyond) keptOlder = true;
  }
  state.conversations = fresh;
  if (!keptOlder) {
    page.more = Boolean(next);
    page.next = next;
  }
}

/**
 * Merges a history page. `kind` is what we asked for: 'latest' (no `before`), 'older', or
 * 'refresh' (a page asked again for fresh links: it says nothing about what is older).
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
  if (kind !== 'refresh' && (kind === 'older' || !before || after !== before || !messages.length)) t.hasMore = more;
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
