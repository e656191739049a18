// The client's behaviour as one pure function: update(state, event) -> {state, effects}.
// Events are server frames, connection news, timers and what the person does; effects are
// what app.js should do about them (frames to send, storage, navigation, focus, timers).
// update never changes the state it is given: the handlers below change an Immer draft,
// and produce() returns a new, frozen state that shares whatever did not change.

import { BYE_WORDS, describeError, retryAfter } from './errors.js';
import { chatPath } from './router.js';
import {
  checkRegistration, cleanFileName, humanSize, isUsername, notAllowedWords, SCALED_TYPES, sizeFits, textFits, textLength,
  tooBigWords, typeAllowed,
} from './rules.js';
import { current, enableMapSet, isDraft, produce } from './vendor/immer.js';
import {
  applyConversations, applyHistory, applyReaction, applyRead, findById, freshAccount, freshScroll, freshTools, isMissing,
  newestFrom, newUpload, oldestId, otherParty, previewText, reactionOf, resetAccount, sortedMessages, summaryOf, thread,
  touchConversation, upsertMessage,
} from './state.js';

export const HISTORY_PAGE = 50;
export const CONVERSATIONS_PAGE = 50;
export const TYPING_EVERY_MS = 3000;
export const TYPING_SHOWN_MS = 5000;
export const LOGOUT_WAIT_MS = 1500;
export const RESUME_RETRY_MS = 3000;
const PREVIEW_CHARS = 140;
/** The reactions the picker offers (the server's allow-list, docs/protocol.md). */
export const REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏', '🎉', '🔥', '👎'];
/** Send errors about the message itself: sending it again gets the same answer. */
const FINAL_SEND_ERRORS = new Set(['no_such_user', 'invalid', 'too_large']);
/** A presigned POST with less time left than this is asked for anew rather than used. */
export const POST_MARGIN_MS = 30 * 1000;
/** An expired link is refreshed (history asked again) at most this often per message. */
export const LINK_REFRESH_MS = 60 * 1000;
/** Download links are signed for an hour; one older than this is refreshed before a download. */
export const LINK_FRESH_MS = 50 * 60 * 1000;

enableMapSet(); // the state keeps its collections in Maps

/*
 * Effects, as plain objects:
 *   {type: 'send', frame}                          send a frame on the socket
 *   {type: 'session', op: 'save'|'clear', username?, token?}
 *   {type: 'outbox', op: 'add'|'remove'|'clear'|'read', username, item?, clientId?}
 *                                                  'read' answers with event {type: 'outbox', items}
 *   {type: 'announce', text}                       say it to screen readers
 *   {type: 'navigate', path, replace}              answers with event {type: 'route', route}
 *   {type: 'focus', id}                            focus that element
 *   {type: 'focus', view: 'conversation'}          the open conversation's natural start
 *                                                  (the message box; its heading on a phone)
 *   {type: 'focus', view: 'list', with?}           the list (the row of `with` if shown)
 *   {type: 'scroll', to: 'newest'}                 show the open conversation's newest message
 *   {type: 'clear', field: 'search'|'password'|'account'}   ('account': the dialog's fields)
 *   {type: 'dialog', op: 'open'|'close'}          show or close the Account dialog
 *   {type: 'later', ms, event}                     dispatch `event` after `ms`
 *   {type: 'reconnect'}                            skip the connection's backoff wait
 *   {type: 'upload', op: 'prepare', clientId, name, scale}
 *                                                  read the file held for clientId (scale a photo
 *                                                  down); answers with event `prepared`
 *                                                  {clientId, name, fileType, size, previewUrl}
 *   {type: 'upload', op: 'post', clientId, url, fields}
 *                                                  POST it; answers uploadProgress, uploadPosted
 *                                                  or uploadFailed
 *   {type: 'upload', op: 'forget', clientId, keepPreview?}
 *                                                  stop any POST and let go of the file (and of
 *                                                  its blob: URL unless keepPreview: a message
 *                                                  shows it until history brings the server's)
 *   {type: 'download', url, name}                  download this link (after refreshing it)
 */

// predicates app.js also asks (to know whether an intent would do anything)

export const signedIn = (state) => state.phase === 'signed-in';
export const canSend = (state) => signedIn(state) && state.net === 'online';

/** Whether files can be attached in the open conversation now. */
export const canAttach = (state) =>
  state.rules.uploadTypes.length > 0 && state.route.name === 'chat' && state.phase !== 'signed-out'
  && !isMissing(state, state.route.with) && !state.blocked.has(state.route.with);

/**
 * Whether the Download link of this message of the open conversation is probably expired
 * (older than LINK_FRESH_MS): the click then refreshes it first (event `refreshDownload`).
 */
export function linkIsStale(state, key, now) {
  const m = openMessage(state, key);
  const a = m && m.attachment;
  return Boolean(a && !a.local && a.fetchedAt && now - a.fetchedAt > LINK_FRESH_MS);
}

/** Whether a message with this text can be written now (the composer keeps it otherwise). */
export const canWrite = (state, text) =>
  state.route.name === 'chat' && state.phase !== 'signed-out' && textFits(text, state.rules)
  && !isMissing(state, state.route.with) && !state.blocked.has(state.route.with);

/** The open conversation's message with this key, or null. */
function openMessage(s, key) {
  if (s.route.name !== 'chat') return null;
  const t = s.threads.get(s.route.with);
  return (t && t.messages.get(key)) || null;
}

/** Keeps the conversations list's `last` in step with a changed message. */
function touchLast(s, other, m) {
  const conv = s.conversations.get(other);
  if (conv && conv.last && conv.last.id === m.id) conv.last = summaryOf(m);
}

const ACTION_WORDS = { edit: 'edit the message', delete: 'delete the message', react: 'react', block: 'block', unblock: 'unblock' };

/** Whether the open conversation has an older page to fetch now. */
export function wantsOlderHistory(state) {
  if (state.route.name !== 'chat' || !canSend(state)) return false;
  const t = state.threads.get(state.route.with);
  return Boolean(t && t.loaded && t.hasMore && !t.loading && oldestId(t));
}

/** Whether the conversations list has a further page to fetch now. */
export function wantsMoreConversations(state) {
  const page = state.conversationsPage;
  return canSend(state) && page.more && Boolean(page.next) && !page.loading;
}

// helpers: each changes the draft and pushes effects onto `out`

function send(s, out, frame) {
  if (!canSend(s)) return false;
  out.push({ type: 'send', frame });
  return true;
}

function requestHistory(s, out, other, kind) {
  const t = thread(s, other);
  if (t.loading || !signedIn(s)) return;
  const frame = { action: 'history', with: other, limit: HISTORY_PAGE };
  if (kind === 'older') {
    const before = oldestId(t);
    if (!t.loaded || !t.hasMore || !before) return;
    frame.before = before;
  }
  if (send(s, out, frame)) t.loading = kind;
}

/** One conversations request at a time, so each reply is known to answer it. */
function requestConversations(s, out, kind) {
  const page = s.conversationsPage;
  if (page.loading) {
    if (kind === 'first') page.again = true;
    return;
  }
  const frame = { action: 'conversations', limit: CONVERSATIONS_PAGE };
  if (kind === 'more') {
    if (!page.more || !page.next) return;
    frame.before = page.next;
  }
  if (send(s, out, frame)) page.loading = kind;
}

function conversationsAnswered(s, out) {
  const page = s.conversationsPage;
  page.loading = null;
  if (page.again) {
    page.again = false;
    requestConversations(s, out, 'first');
  }
}

const isReading = (s, other) =>
  signedIn(s) && s.route.name === 'chat' && s.route.with === other && s.visible;

/** Tells the server we have seen the newest message of the open conversation. */
function markRead(s, out) {
  if (s.route.name !== 'chat' || !isReading(s, s.route.with)) return;
  const other = s.route.with;
  const t = thread(s, other);
  const newest = newestFrom(t, other);
  if (!newest) return;
  const conv = s.conversations.get(other);
  if (newest.id <= t.readSent && !(conv && conv.unread > 0)) return;
  if (send(s, out, { action: 'read', with: other, up_to: newest.id })) {
    if (newest.id > t.readSent) t.readSent = newest.id;
    // What was unread until now gets a divider, unless one is shown already.
    if (conv && conv.unread > 0 && !t.unreadMark) t.unreadMark = { count: conv.unread, firstId: '' };
    if (conv) conv.unread = 0;
    placeUnreadMark(s, out, other);
  }
}

/** Finds the first unread message of the divider, fetching older pages until it is held. */
function placeUnreadMark(s, out, other) {
  const t = s.threads.get(other);
  const mark = t && t.unreadMark;
  if (!mark || mark.firstId || !t.loaded) return;
  const theirs = sortedMessages(t).filter((m) => m.id && m.from === other);
  if (theirs.length >= mark.count) mark.firstId = theirs[theirs.length - mark.count].id;
  else if (t.hasMore) requestHistory(s, out, other, 'older');
  else if (theirs.length) mark.firstId = theirs[0].id; // fewer than were counted: all of them
}

/** Asks the server whether `name` exists, unless we know already (for /chat/<nobody>). */
function checkExists(s, out, name) {
  if (s.known.has(name) || s.conversations.has(name)) return;
  if (s.usersAsked.some((asked) => asked.exists === name)) return;
  if (send(s, out, { action: 'users', query: name })) s.usersAsked.push({ exists: name });
}

function askUsers(s, out, query) {
  if (send(s, out, { action: 'users', query: query.slice(0, 32) })) s.usersAsked.push({ search: query });
}

function findOwn(s, clientId) {
  const key = `${s.me}/${clientId}`;
  for (const t of s.threads.values()) {
    const m = t.messages.get(key);
    if (m) return m;
  }
  return null;
}

function sendMessageFrame(s, out, m) {
  const attachment = m.attachment ? { attachment: m.attachment.id } : {};
  send(s, out, { action: 'send', to: m.to, text: m.text, client_id: m.client_id, ...attachment });
}

/** What the outbox keeps of a message (its attachment without the links, which expire). */
function outboxItem(m) {
  const item = { client_id: m.client_id, to: m.to, text: m.text, ts: m.ts };
  if (m.attachment) {
    const { id: upload, name, type, size } = m.attachment;
    item.attachment = { id: upload, name, type, size };
  }
  return item;
}

// uploads (state.uploads; the steps are described in state.js)

const forgetFile = (clientId, keepPreview = false) => ({ type: 'upload', op: 'forget', clientId, keepPreview });

/** Lets go of every file in progress (signing out, another account). */
function forgetUploads(s, out) {
  for (const clientId of s.uploads.keys()) out.push(forgetFile(clientId));
  s.uploads.clear();
}

/** A file that cannot be sent as it is: said at once, shown in the tray until dismissed. */
function refuseUpload(s, out, u, words) {
  u.status = 'failed';
  u.error = words;
  u.final = true;
  out.push(forgetFile(u.clientId), { type: 'announce', text: words });
  sendPosted(s, out, u.to); // those after it need not wait
}

function failUpload(s, out, u, words, { waiting = false, auto = false } = {}) {
  u.status = 'failed';
  u.error = words;
  u.progress = 0;
  u.auto = auto;
  out.push({ type: 'announce', text: `${words} ${waiting ? 'You can retry it then.' : 'You can retry it.'}` });
  sendPosted(s, out, u.to);
}

/** Asks the server where to POST (the reply is matched by client_id), or waits for the connection. */
function askUpload(s, out, u) {
  u.uploadId = '';
  u.url = '';
  u.fields = null;
  u.expiresAt = 0;
  u.progress = 0;
  const frame = { action: 'upload', name: u.name, type: u.type, size: u.size, client_id: u.clientId };
  u.status = send(s, out, frame) ? 'asking' : 'queued';
}

function postUpload(s, out, u) {
  u.status = 'posting';
  u.progress = 0;
  u.error = '';
  u.auto = false;
  out.push({ type: 'upload', op: 'post', clientId: u.clientId, url: u.url, fields: u.fields });
}

/** Goes on from where the upload stands: a POST still valid is used, else one is asked for. */
function startUpload(s, out, u, now) {
  if (u.uploadId && u.expiresAt - POST_MARGIN_MS > now) postUpload(s, out, u);
  else askUpload(s, out, u);
}

/**
 * Files stored become messages in the order they were chosen: each posted one is sent
 * once those chosen before it (to the same person) are sent, failed or gone. A message
 * is sent (and kept in the outbox) like any other.
 */
function sendPosted(s, out, to) {
  for (const u of [...s.uploads.values()]) {
    if (u.to !== to || u.status === 'failed') continue;
    if (u.status !== 'posted') return;
    s.uploads.delete(u.clientId);
    out.push(forgetFile(u.clientId, true)); // its blob: URL stays: the message shows it
    const attachment = { id: u.uploadId, name: u.name, type: u.type, size: u.size, url: u.previewUrl, local: true };
    const wire = { client_id: u.clientId, from: s.me, to: u.to, text: '', ts: u.ts, attachment };
    const { message } = upsertMessage(s, wire, 'pending');
    touchConversation(s, message);
    out.push({ type: 'outbox', op: 'add', username: s.me, item: outboxItem(message) });
    sendMessageFrame(s, out, message);
  }
}

/** What a refused `upload` frame means, in words. */
function uploadErrorWords(frame, u, rules) {
  if (frame.code === 'too_large') return tooBigWords(u.name, rules);
  if (frame.code === 'invalid') return notAllowedWords(u.name, rules);
  if (frame.code === 'rate_limited') return `${u.name} not sent: ${describeError({ ...frame, action: 'upload' }, rules)}`;
  return `${u.name} not sent: ${describeError(frame, rules)}`;
}

/**
 * Asks again for the history page holding this message, so its attachment comes with a
 * freshly signed link; at most once a minute per message (no loop on a link that stays
 * broken). Returns whether it asked.
 */
function refreshLink(s, out, key, now) {
  if (s.route.name !== 'chat') return false;
  const other = s.route.with;
  const t = s.threads.get(other);
  const m = t && t.messages.get(key);
  if (!m || !m.id || !m.attachment || m.attachment.local || t.loading) return false;
  const last = s.linkRefreshedAt.get(key);
  if (last !== undefined && now - last < LINK_REFRESH_MS) return false;
  const next = sortedMessages(t).find((x) => x.id && x.id > m.id); // the page before it holds m
  const frame = { action: 'history', with: other, limit: HISTORY_PAGE, ...(next ? { before: next.id } : {}) };
  if (!send(s, out, frame)) return false;
  t.loading = 'refresh';
  s.linkRefreshedAt.set(key, now);
  return true;
}

/** Notes when the links of these stored messages were signed (they last an hour). */
function stampLinks(s, other, wires, now) {
  const t = s.threads.get(other);
  if (!t || !now) return;
  for (const wire of wires) {
    const key = wire.attachment && wire.id && t.keyById.get(wire.id);
    const m = key && t.messages.get(key);
    if (m && m.attachment && !m.attachment.local) m.attachment = { ...m.attachment, fetchedAt: now };
  }
}

function resume(s, out) {
  if (s.token && s.net === 'online') out.push({ type: 'send', frame: { action: 'resume', token: s.token } });
}

function goHome(s, out) {
  s.route = { name: 'home' };
  out.push({ type: 'navigate', path: '/', replace: true });
}

/**
 * Signs this device out; `notice` says why on the sign-in screen (and is announced).
 * `stay`: keep the URL (a session found ended on load: signing in again goes on there).
 */
function signedOut(s, out, notice = '', { stay = false } = {}) {
  s.signingOut = false;
  if (s.account.open) out.push({ type: 'dialog', op: 'close' });
  if (s.me) out.push({ type: 'outbox', op: 'clear', username: s.me });
  out.push({ type: 'session', op: 'clear' }, { type: 'clear', field: 'search' });
  s.token = null;
  forgetUploads(s, out);
  resetAccount(s);
  s.phase = 'signed-out';
  s.auth = { busy: null, error: '', notice };
  if (notice) out.push({ type: 'announce', text: notice });
  if (!stay) goHome(s, out);
}

function submitAuth(s, out, frame, busy) {
  s.auth = { busy, error: '', notice: '' };
  if (s.net === 'online') out.push({ type: 'send', frame });
  else s.pendingAuth = frame;
}

// server frames

function onWelcome(s, frame, out, now) {
  const fromSignIn = s.phase === 'signed-out';
  if (s.me && s.me !== frame.username) {
    forgetUploads(s, out);
    resetAccount(s);
  }
  s.me = frame.username;
  s.token = frame.token;
  s.phase = 'signed-in';
  s.auth = { busy: null, error: '', notice: '' };
  out.push(
    { type: 'session', op: 'save', username: frame.username, token: frame.token },
    { type: 'clear', field: 'password' },
  );
  const firstOnPage = !s.welcomed;
  s.welcomed = true;
  for (const t of s.threads.values()) t.loading = null;
  s.conversationsPage.loading = null;
  s.usersAsked = []; // replies to an earlier connection will not come
  s.account.busy = null;
  if (s.route.name === 'chat' && s.route.with === s.me) goHome(s, out);
  if (s.route.name === 'home' && fromSignIn) out.push({ type: 'focus', id: 'find-user' });
  if (s.route.name === 'chat' && (fromSignIn || firstOnPage)) out.push({ type: 'focus', view: 'conversation' });
  requestConversations(s, out, 'first');
  send(s, out, { action: 'blocks' }); // who I block, conversation or not
  if (s.route.name === 'chat') requestHistory(s, out, s.route.with, 'latest');
  out.push({ type: 'outbox', op: 'read', username: s.me }); // answered by the 'outbox' event
  if (s.search.query) askUsers(s, out, s.search.query);
  // Files chosen while offline go now; so do those that could not reach the server.
  for (const u of s.uploads.values()) {
    if (u.status === 'queued' || (u.status === 'failed' && u.auto)) startUpload(s, out, u, now);
  }
}

function onMessage(s, frame, out, now) {
  const other = otherParty(s, frame);
  const isNew = !s.conversations.has(other);
  const { message, added } = upsertMessage(s, frame);
  const conv = touchConversation(s, message);
  // A new conversation: fetch the list again for the other person's presence.
  if (isNew) requestConversations(s, out, 'first');
  s.known.set(other, true);
  if (added && frame.from !== s.me) {
    s.presence.set(other, true); // they just sent it, so they are online
    s.typing.delete(other);
    if (!isReading(s, other)) conv.unread += 1;
    const open = s.route.name === 'chat' && s.route.with === other;
    if (open && !s.scroll.atBottom) s.scroll.newBelow = true;
    const text = previewText(frame);
    const preview = text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
    out.push({ type: 'announce', text: `New message from ${frame.from}: ${preview}` });
  }
  stampLinks(s, other, [frame], now);
  markRead(s, out);
}

function onAck(s, frame, out) {
  const m = findOwn(s, frame.client_id);
  out.push({ type: 'outbox', op: 'remove', username: s.me, clientId: frame.client_id });
  if (!m) return;
  // The ack is the stored copy of our message: the same merge as any other stored message.
  const { message } = upsertMessage(s, { ...m, id: frame.id, ts: frame.ts });
  touchConversation(s, message);
}

function onError(s, frame, out, now) {
  switch (frame.action) {
    case 'login':
    case 'register':
      s.auth = { busy: null, error: describeError(frame, s.rules), notice: '' };
      return;
    case 'resume':
      if (frame.code === 'bad_token') {
        signedOut(s, out, BYE_WORDS.bad_token, { stay: true });
      } else {
        const wait = frame.code === 'rate_limited' ? retryAfter(frame) * 1000 : 0;
        out.push({ type: 'later', ms: Math.max(wait, RESUME_RETRY_MS), event: { type: 'resume' } });
      }
      return;
    case 'change_password':
      if (frame.code === 'unauthenticated' && s.token) {
        s.phase = 'resuming';
        resume(s, out);
      }
      s.account.busy = null;
      s.account.error = frame.code === 'unauthenticated'
        ? 'The connection was interrupted. Please try again.'
        : describeError(frame, s.rules);
      s.account.done = '';
      s.account.field = frame.code === 'bad_credentials' ? 'current' : frame.code === 'invalid' ? 'new' : '';
      out.push({ type: 'focus', id: frame.code === 'bad_credentials' ? 'current-password' : 'new-password' });
      return;
    case 'logout_all':
      s.signingOut = false;
      s.account.busy = null;
      s.account.confirming = false;
      s.account.everywhereError = `Could not sign out everywhere. ${describeError(frame, s.rules)}`;
      if (frame.code === 'unauthenticated' && s.token) {
        s.phase = 'resuming';
        resume(s, out);
      }
      return;
    case 'send': {
      if (!frame.client_id) return;
      if (frame.code === 'unauthenticated' && s.token) {
        // The session dropped: the message stays pending in the outbox, sent after the welcome.
        s.phase = 'resuming';
        resume(s, out);
        return;
      }
      const m = findOwn(s, frame.client_id);
      out.push({ type: 'outbox', op: 'remove', username: s.me, clientId: frame.client_id });
      if (!m || m.id) return;
      m.status = 'failed';
      m.error = m.attachment && frame.code === 'invalid'
        ? `${m.attachment.name} could not be sent: the upload was refused or has expired.`
        : describeError(frame, s.rules);
      m.final = FINAL_SEND_ERRORS.has(frame.code);
      if (frame.code === 'no_such_user') s.known.set(m.to, false);
      let next = m.final ? 'You can dismiss it.' : 'You can retry it.';
      if (frame.code === 'rate_limited') {
        // Retrying before the wait is over would be refused again (and counted): Retry
        // comes back when it is over.
        const wait = retryAfter(frame) || 1;
        m.waitUntil = now + wait * 1000;
        out.push({ type: 'later', ms: wait * 1000, event: { type: 'waitOver', key: m.key } });
        next = 'You can retry it then.';
      }
      out.push({ type: 'announce', text: `Message to ${m.to} not sent: ${m.error} ${next}` });
      return;
    }
    case 'history':
      for (const [other, t] of s.threads) {
        if (!t.loading) continue;
        t.loading = null;
        t.loaded = true;
        t.hasMore = false;
        if (s.route.name === 'chat' && s.route.with === other) t.error = describeError(frame, s.rules);
      }
      return;
    case 'conversations':
      s.conversationsPage.more = false; // stop asking for further pages this session
      conversationsAnswered(s, out);
      return;
    case 'edit':
    case 'delete':
    case 'react':
    case 'block':
    case 'unblock':
      if (frame.code === 'unauthenticated' && s.token) {
        s.phase = 'resuming';
        resume(s, out);
      }
      out.push({ type: 'announce', text: `Could not ${ACTION_WORDS[frame.action]}: ${describeError(frame, s.rules)}` });
      return;
    case 'users':
      if ('search' in (s.usersAsked.shift() || { search: '' })) s.search.results = [];
      return;
    case 'upload': {
      const u = s.uploads.get(frame.client_id);
      if (!u || u.status !== 'asking') return; // cancelled, or an answer to an earlier ask
      if (frame.code === 'unauthenticated' && s.token) {
        u.status = 'queued'; // asked again after the welcome
        s.phase = 'resuming';
        resume(s, out);
        return;
      }
      const words = uploadErrorWords(frame, u, s.rules);
      if (frame.code === 'too_large' || frame.code === 'invalid') {
        refuseUpload(s, out, u, words);
        return;
      }
      failUpload(s, out, u, words, { waiting: frame.code === 'rate_limited' });
      if (frame.code === 'rate_limited') {
        const wait = retryAfter(frame) || 1;
        u.waitUntil = now + wait * 1000;
        out.push({ type: 'later', ms: wait * 1000, event: { type: 'uploadWaitOver', clientId: u.clientId } });
      }
      return;
    }
    default:
      // unauthenticated: the server no longer knows this connection; sign it in again
      if (frame.code === 'unauthenticated' && s.token) {
        s.phase = 'resuming';
        resume(s, out);
      }
  }
}

const FRAMES = {
  welcome: onWelcome,
  message: onMessage,
  ack: onAck,
  error: onError,
  history(s, frame, out, now) {
    const t = thread(s, frame.with);
    const messages = frame.messages || [];
    const kind = t.loading || 'latest';
    const local = [...t.messages.values()].filter((m) => m.attachment && m.attachment.local);
    applyHistory(s, frame.with, messages, Boolean(frame.more), kind);
    stampLinks(s, frame.with, messages, now);
    // the server's links replaced our own copies of files we sent: let those go
    for (const m of local) if (!(m.attachment && m.attachment.local)) out.push(forgetFile(m.client_id));
    if (kind === 'refresh' && s.downloadWanted) {
      // A download that waited for its link to be signed afresh.
      const m = t.messages.get(s.downloadWanted);
      s.downloadWanted = '';
      if (m && m.attachment && m.attachment.url) out.push({ type: 'download', url: m.attachment.url, name: m.attachment.name });
    }
    if (messages.length) s.known.set(frame.with, true);
    else checkExists(s, out, frame.with); // nothing to read: maybe there is no such person
    markRead(s, out);
    if (s.route.name === 'chat' && s.route.with === frame.with) placeUnreadMark(s, out, frame.with);
  },
  conversations(s, frame, out) {
    applyConversations(s, frame, s.conversationsPage.loading || 'first');
    for (const item of frame.items || []) s.known.set(item.with, true);
    conversationsAnswered(s, out);
    markRead(s, out);
  },
  /**
   * Answers the oldest `users` request in flight: a search, or whether a name exists.
   * Replies carry no query, so one is taken for its request only if it fits it (every
   * name starts with the query), in case replies overtake each other.
   */
  users(s, frame, out) {
    const asked = s.usersAsked.shift() || { search: s.search.query };
    const items = frame.items || [];
    const fits = (query) => items.every((item) => item.username.startsWith(query));
    for (const item of items) {
      s.presence.set(item.username, Boolean(item.online));
      s.known.set(item.username, true);
    }
    if ('exists' in asked) {
      const name = asked.exists;
      if (items.some((item) => item.username === name) || !fits(name)) return;
      s.known.set(name, false);
      if (s.route.name === 'chat' && s.route.with === name) {
        out.push(
          { type: 'announce', text: `There is no one with the username ${name}.` },
          { type: 'focus', view: 'conversation' }, // the message box is gone
        );
      }
      return;
    }
    // an older search, or not this one's answer
    if (!s.search.query || asked.search !== s.search.query || !fits(asked.search)) return;
    s.search.results = items;
  },
  presence(s, frame) {
    s.presence.set(frame.username, Boolean(frame.online));
  },
  read(s, frame) {
    applyRead(s, frame);
  },
  typing(s, frame, out, now) {
    s.typing.set(frame.from, now + TYPING_SHOWN_MS);
    out.push({ type: 'later', ms: TYPING_SHOWN_MS + 50, event: { type: 'tick' } });
  },
  /** A bye we asked for (Sign out, Sign out everywhere), or this session ended elsewhere. */
  bye(s, frame, out) {
    if (s.phase === 'signed-out' && !s.signingOut) return; // signed out here already
    const reason = typeof frame.reason === 'string' ? frame.reason : '';
    if (s.signingOut) {
      signedOut(s, out, reason === 'signed_out_everywhere' ? 'You signed out on all your devices.' : '');
    } else {
      signedOut(s, out, BYE_WORDS[reason] || BYE_WORDS.other);
    }
  },
  /**
   * The reply to this connection's change_password. The open dialog says it in its status
   * line (a live region: the page outside a modal dialog is inert, the announcer too);
   * if the dialog was closed meanwhile, the announcer says it.
   */
  password_changed(s, frame, out) {
    const { open } = s.account;
    s.account = { ...freshAccount(), open, done: open ? 'Password changed. Your other devices were signed out.' : '' };
    if (open) out.push({ type: 'clear', field: 'account' });
    else out.push({ type: 'announce', text: 'Password changed. Your other devices were signed out; this one stays signed in.' });
  },
  pong() {},
  /** An edit of a message, by me (any device) or the other person. */
  edited(s, frame) {
    const found = findById(s, frame.id);
    if (!found || found.message.deleted) return;
    const m = found.message;
    m.text = frame.text;
    m.edited_at = frame.edited_at || m.edited_at || m.ts;
    touchLast(s, found.other, m);
  },
  /** A message deleted for everyone: it becomes a tombstone. */
  deleted(s, frame, out) {
    const found = findById(s, frame.id);
    if (!found) return;
    const m = found.message;
    m.deleted = true;
    m.text = '';
    m.reactions = {};
    m.attachment = null;
    const tools = s.tools;
    if (tools.editing && tools.editing.key === m.key) {
      tools.editing = null;
      out.push({ type: 'announce', text: 'The message you were editing was deleted.' });
    }
    if (tools.deleting === m.key) tools.deleting = '';
    if (tools.picking === m.key) tools.picking = '';
    touchLast(s, found.other, m);
  },
  reaction(s, frame) {
    const found = findById(s, frame.id);
    if (!found || found.message.deleted || typeof frame.emoji !== 'string') return;
    applyReaction(found.message, frame.by, frame.emoji, frame.on !== false);
  },
  blocked(s, frame, out) {
    if (!s.blocked.has(frame.username)) out.push({ type: 'announce', text: `You blocked ${frame.username}.` });
    s.blocked.set(frame.username, true);
    if (s.tools.blocking === frame.username) s.tools.blocking = '';
    s.typing.delete(frame.username);
    s.presence.set(frame.username, false);
  },
  unblocked(s, frame, out) {
    if (s.blocked.has(frame.username)) out.push({ type: 'announce', text: `You unblocked ${frame.username}.` });
    s.blocked.delete(frame.username);
  },
  blocks(s, frame) {
    s.blocked.clear();
    for (const name of frame.items || []) s.blocked.set(name, true);
  },
  /** Where to POST a file (the reply to `upload`, matched by client_id). */
  upload(s, frame, out, now) {
    const u = s.uploads.get(frame.client_id);
    if (!u || u.status !== 'asking' || typeof frame.upload_id !== 'string' || typeof frame.url !== 'string') return;
    u.uploadId = frame.upload_id;
    u.url = frame.url;
    u.fields = frame.fields && typeof frame.fields === 'object' ? frame.fields : {};
    u.expiresAt = now + (Number(frame.expires_in) > 0 ? frame.expires_in : 900) * 1000;
    postUpload(s, out, u);
  },
};

// all events

const EVENTS = {
  /** {frame, now}: a frame from the server; `now` is Date.now(). */
  frame(s, { frame, now = 0 }, out) {
    const handler = FRAMES[frame.type];
    if (handler) handler(s, frame, out, now);
  },
  /** The socket opened. */
  open(s, event, out) {
    if (s.pendingAuth) {
      out.push({ type: 'send', frame: s.pendingAuth });
      s.pendingAuth = null;
    } else if (s.phase !== 'signed-out') {
      resume(s, out);
    }
  },
  /** {status}: 'connecting' | 'online' | 'offline'. */
  status(s, { status }) {
    s.net = status;
    if (status !== 'offline') return;
    if (s.phase === 'signed-in') s.phase = 'resuming';
    for (const u of s.uploads.values()) if (u.status === 'asking') u.status = 'queued'; // no reply will come
    s.usersAsked = [];
    for (const t of s.threads.values()) t.loading = null;
    s.conversationsPage.loading = null;
    if (s.auth.busy && !s.pendingAuth) {
      s.auth = { busy: null, error: 'The connection dropped. Please try again.', notice: '' };
    }
    if (s.account.busy === 'password') {
      s.account.busy = null;
      s.account.error = 'The connection dropped. Please try again.';
    } else if (s.account.busy === 'everywhere') {
      s.account = { ...freshAccount(), open: s.account.open };
      s.account.everywhereError = 'The connection dropped before your other devices were signed out. Please try again.';
      s.signingOut = false;
    }
  },
  /** {items}: the outbox read back from storage after a welcome; sends what is unsent. */
  outbox(s, { items }, out) {
    if (!signedIn(s)) return;
    for (const item of items) {
      const wire = { from: s.me, to: item.to, text: item.text, ts: item.ts, client_id: item.client_id };
      if (item.attachment) wire.attachment = { ...item.attachment, url: '', local: true }; // its link comes with history
      const { message } = upsertMessage(s, wire, 'pending');
      if (message.id) {
        out.push({ type: 'outbox', op: 'remove', username: s.me, clientId: item.client_id }); // history showed it
        continue;
      }
      message.status = 'pending';
      touchConversation(s, message);
      sendMessageFrame(s, out, message);
    }
  },
  /** {route}: the URL changed. */
  route(s, { route }, out) {
    if (route.name === 'chat' && route.with === s.me) {
      out.push({ type: 'navigate', path: '/', replace: true }); // there is no conversation with yourself
      return;
    }
    const before = s.route;
    const changed = before.name !== route.name || before.with !== route.with;
    s.route = route;
    if (changed) {
      s.scroll = freshScroll();
      s.tools = freshTools();
      if (before.name === 'chat' && s.threads.has(before.with)) s.threads.get(before.with).unreadMark = null;
      for (const u of [...s.uploads.values()]) {
        // refused files are a notice about the conversation left; the others go on
        if (before.name === 'chat' && u.to === before.with && u.final) s.uploads.delete(u.clientId);
      }
      if (s.phase !== 'signed-out') {
        out.push(route.name === 'chat'
          ? { type: 'focus', view: 'conversation' }
          : { type: 'focus', view: 'list', with: before.with });
      }
    }
    if (s.search.query) {
      s.search = { query: '', results: null };
      out.push({ type: 'clear', field: 'search' });
    }
    if (route.name === 'chat') {
      if (!thread(s, route.with).loaded) requestHistory(s, out, route.with, 'latest');
      markRead(s, out);
      placeUnreadMark(s, out, route.with);
    }
  },
  /** {visible}: the tab was shown or hidden. */
  visibility(s, { visible }, out) {
    s.visible = visible;
    markRead(s, out);
  },
  /** {token, username}: another tab signed in or out. */
  storage(s, { token, username }, out) {
    if (!token && s.phase !== 'signed-out') {
      s.token = null;
      if (s.account.open) out.push({ type: 'dialog', op: 'close' });
      forgetUploads(s, out);
      resetAccount(s);
      s.phase = 'signed-out';
      goHome(s, out);
    } else if (token && s.phase === 'signed-out') {
      s.phase = 'resuming';
      s.me = username;
      s.token = token;
      resume(s, out);
    }
  },
  resume(s, event, out) {
    resume(s, out);
  },
  tick() {}, // time passed (a typing indicator expired): draw again

  // what the person does

  signIn(s, { username, password }, out) {
    if (!username || !password) {
      s.auth = { busy: null, error: 'Enter your username and password.' };
      return;
    }
    submitAuth(s, out, { action: 'login', username, password }, 'login');
  },
  register(s, { username, password }, out) {
    const problem = checkRegistration(username, password, s.rules);
    if (problem) {
      s.auth = { busy: null, error: problem };
      return;
    }
    submitAuth(s, out, { action: 'register', username, password }, 'register');
  },
  signOut(s, event, out) {
    if (send(s, out, { action: 'logout' })) {
      s.signingOut = true;
      out.push({ type: 'later', ms: LOGOUT_WAIT_MS, event: { type: 'signOutTimeout' } });
    } else {
      signedOut(s, out);
    }
  },
  /** No bye came in time: sign out here anyway. */
  signOutTimeout(s, event, out) {
    if (s.signingOut) signedOut(s, out);
  },
  /** The Account button: the dialog with Change password and Sign out everywhere. */
  openAccount(s, event, out) {
    if (!signedIn(s) && s.phase !== 'resuming') return;
    if (!s.account.open) out.push({ type: 'dialog', op: 'open' });
    s.account = { ...freshAccount(), open: true };
    out.push({ type: 'clear', field: 'account' }, { type: 'focus', id: 'current-password' });
  },
  /** Close, or Escape: the dialog goes; focus returns to the Account button. */
  closeAccount(s, event, out) {
    if (!s.account.open) return;
    s.account = freshAccount();
    out.push({ type: 'dialog', op: 'close' }, { type: 'clear', field: 'account' }, { type: 'focus', id: 'account-button' });
  },
  /** {password, newPassword}: the Change password form (the same password rule as sign-up). */
  changePassword(s, { password, newPassword }, out) {
    const a = s.account;
    if (a.busy) return;
    a.done = '';
    const min = s.rules.passwordMin;
    let problem = null; // [field, words]
    if (!password) problem = ['current', 'Enter your current password.'];
    else if (newPassword.length < min) problem = ['new', `Choose a new password of at least ${min} characters.`];
    else if (newPassword === password) problem = ['new', 'The new password is the same as the current one. Choose another.'];
    else if (!send(s, out, { action: 'change_password', password, new_password: newPassword })) {
      problem = ['', 'You are offline. Try again when the connection is back.'];
    }
    if (!problem) {
      a.busy = 'password';
      a.error = '';
      a.field = '';
      return;
    }
    [a.field, a.error] = problem;
    out.push({ type: 'focus', id: a.field === 'current' ? 'current-password' : 'new-password' });
  },
  /** Sign out everywhere: asks first, focus on Cancel (the question is its group's name). */
  askSignOutEverywhere(s, event, out) {
    if (!s.account.open || s.account.busy) return;
    s.account.confirming = true;
    s.account.everywhereError = '';
    out.push({ type: 'focus', id: 'signout-all-cancel' });
  },
  cancelSignOutEverywhere(s, event, out) {
    s.account.confirming = false;
    out.push({ type: 'focus', id: 'signout-all-button' });
  },
  /** Confirmed: every session of the account ends, this one too (the bye signs out here). */
  signOutEverywhere(s, event, out) {
    if (!s.account.confirming || s.account.busy) return;
    if (!send(s, out, { action: 'logout_all' })) {
      s.account.confirming = false;
      s.account.everywhereError = 'You are offline: your other devices can’t be signed out now. Try again when the connection is back.';
      out.push({ type: 'focus', id: 'signout-all-button' });
      return;
    }
    s.account.busy = 'everywhere';
    s.signingOut = true;
  },
  /** {key}: the wait a rate-limited message was given is over: it can be retried. */
  waitOver(s, { key }, out) {
    for (const t of s.threads.values()) {
      const m = t.messages.get(key);
      if (!m || !m.waitUntil) continue;
      m.waitUntil = 0;
      if (m.status !== 'failed') continue;
      m.error = 'Too many messages at once.';
      out.push({ type: 'announce', text: `You can retry your message to ${m.to} now.` });
    }
  },
  /** {text, clientId, ts}: write a message in the open conversation. */
  write(s, { text, clientId, ts }, out) {
    if (s.route.name === 'chat' && !textFits(text, s.rules)) {
      const over = textLength(text) - s.rules.maxText;
      out.push({ type: 'announce', text: `Not sent: the message is ${over} ${plural(over, 'character')} too long.` });
      return;
    }
    if (!canWrite(s, text)) return;
    const item = { client_id: clientId, to: s.route.with, text, ts };
    out.push({ type: 'outbox', op: 'add', username: s.me, item });
    const { message } = upsertMessage(s, { ...item, from: s.me }, 'pending');
    touchConversation(s, message);
    sendMessageFrame(s, out, message);
  },
  /** {key}: send a failed message again. */
  retry(s, { key }, out) {
    for (const t of s.threads.values()) {
      const m = t.messages.get(key);
      if (!m || m.status !== 'failed' || m.final || m.waitUntil) continue;
      out.push({ type: 'focus', view: 'conversation' }); // the button goes away
      m.status = 'pending';
      m.error = '';
      out.push({ type: 'outbox', op: 'add', username: s.me, item: outboxItem(m) });
      sendMessageFrame(s, out, m);
    }
  },
  /** {key}: forget a message that was not sent. */
  dismiss(s, { key }, out) {
    for (const [other, t] of s.threads) {
      const m = t.messages.get(key);
      if (!m || m.status !== 'failed') continue;
      t.messages.delete(key);
      out.push({ type: 'focus', view: 'conversation' }); // the button went away with the message
      const conv = s.conversations.get(other);
      if (!conv || !conv.last || conv.last.id || conv.last.client_id !== m.client_id) continue;
      const rest = sortedMessages(t);
      if (rest.length) conv.last = summaryOf(rest.at(-1));
      else s.conversations.delete(other); // it only ever held this message
    }
  },
  /** {key}: Edit message: the text goes into the message box, which now saves it. */
  edit(s, { key }, out) {
    const m = openMessage(s, key);
    if (!m || m.from !== s.me || !m.id || m.deleted) return;
    s.tools = { ...freshTools(), editing: { key, id: m.id, text: m.text } };
    out.push({ type: 'focus', id: 'message' });
  },
  /** Cancel, or Escape in the message box while editing. */
  cancelEdit(s, event, out) {
    if (!s.tools.editing) return;
    s.tools.editing = null;
    out.push({ type: 'focus', id: 'message' });
  },
  /** {text}: Save: the server answers `edited` (to both people), which shows the new text. */
  saveEdit(s, { text }, out) {
    const editing = s.tools.editing;
    if (!editing) return;
    const m = openMessage(s, editing.key);
    if (!m || m.deleted) {
      s.tools.editing = null;
      return;
    }
    if (!text.trim()) return;
    if (!textFits(text, s.rules)) {
      const over = textLength(text) - s.rules.maxText;
      out.push({ type: 'announce', text: `Not saved: the message is ${over} ${plural(over, 'character')} too long.` });
      return;
    }
    if (text !== m.text && !send(s, out, { action: 'edit', id: m.id, text })) {
      out.push({ type: 'announce', text: 'You are offline: the edit was not saved. Try again when the connection is back.' });
      return;
    }
    s.tools.editing = null;
    out.push({ type: 'focus', id: 'message' });
  },
  /** {key}: Delete message: asks first (Delete for everyone / Cancel). */
  askDelete(s, { key }, out) {
    const m = openMessage(s, key);
    if (!m || m.from !== s.me || !m.id || m.deleted) return;
    s.tools = { ...freshTools(), deleting: key }; // an edit in progress ends: one Cancel at a time
    out.push({ type: 'focus', id: 'confirm-delete' });
  },
  cancelDelete(s, { key }, out) {
    if (!s.tools.deleting) return;
    s.tools.deleting = '';
    out.push({ type: 'focus', id: `tools-${key}` });
  },
  /** Delete for everyone: the server answers `deleted` (to both people). */
  confirmDelete(s, { key }, out) {
    const m = openMessage(s, key);
    if (!m || s.tools.deleting !== key) return;
    if (!send(s, out, { action: 'delete', id: m.id })) {
      out.push({ type: 'announce', text: 'You are offline: the message was not deleted. Try again when the connection is back.' });
      return;
    }
    s.tools.deleting = '';
    if (s.tools.editing && s.tools.editing.key === key) s.tools.editing = null;
    out.push({ type: 'focus', view: 'conversation' });
  },
  /** {key}: React: opens (or closes) the picker of that message. */
  pickReaction(s, { key }, out) {
    const m = openMessage(s, key);
    if (!m || !m.id || m.deleted) return;
    const open = s.tools.picking !== key;
    s.tools.picking = open ? key : '';
    s.tools.deleting = '';
    out.push({ type: 'focus', id: open ? `pick-${key}` : `tools-${key}` });
  },
  closePicker(s, { key }, out) {
    if (!s.tools.picking) return;
    s.tools.picking = '';
    out.push({ type: 'focus', id: `tools-${key || ''}` });
  },
  /** {key, emoji}: a picker button or a chip: sets my reaction, or removes it if it is that one. */
  react(s, { key, emoji }, out) {
    const m = openMessage(s, key);
    if (!m || !m.id || m.deleted || !REACTIONS.includes(emoji)) return;
    const on = reactionOf(m, s.me) !== emoji;
    if (!send(s, out, { action: 'react', id: m.id, emoji, on })) {
      out.push({ type: 'announce', text: 'You are offline: try again when the connection is back.' });
      return;
    }
    const picked = s.tools.picking === key;
    s.tools.picking = '';
    if (picked) out.push({ type: 'focus', id: `tools-${key}` });
  },
  /** Block in the header: asks first. */
  askBlock(s, event, out) {
    if (s.route.name !== 'chat' || s.blocked.has(s.route.with)) return;
    s.tools = { ...freshTools(), blocking: s.route.with };
    out.push({ type: 'focus', id: 'confirm-block' });
  },
  cancelBlock(s, event, out) {
    if (!s.tools.blocking) return;
    s.tools.blocking = '';
    out.push({ type: 'focus', id: 'block-button' });
  },
  confirmBlock(s, event, out) {
    const name = s.tools.blocking;
    if (!name || s.route.name !== 'chat' || s.route.with !== name) return;
    if (!send(s, out, { action: 'block', username: name })) {
      out.push({ type: 'announce', text: 'You are offline: try again when the connection is back.' });
      return;
    }
    s.tools.blocking = '';
    out.push({ type: 'focus', id: 'peer-name' });
  },
  unblock(s, event, out) {
    if (s.route.name !== 'chat' || !s.blocked.has(s.route.with)) return;
    if (!send(s, out, { action: 'unblock', username: s.route.with })) {
      out.push({ type: 'announce', text: 'You are offline: try again when the connection is back.' });
      return;
    }
    out.push({ type: 'focus', id: 'peer-name' });
  },
  /** {query}: Enter in Find user: open the exact match, else the first one found, else the name typed. */
  openSearch(s, { query }, out) {
    if (!query) return;
    const results = query === s.search.query ? s.search.results : null;
    let name = '';
    if (results && results.length) {
      name = (results.find((r) => r.username === query) || results[0]).username;
    } else if (!results && query !== s.me && isUsername(query, s.rules)) {
      name = query; // no answer yet: /chat/<name> says whether it exists
    }
    if (name) out.push({ type: 'navigate', path: chatPath(name), replace: false });
  },
  /** {atBottom}: the open conversation was scrolled (reported when atBottom changes). */
  scrolled(s, { atBottom }) {
    s.scroll.atBottom = atBottom;
    if (atBottom) s.scroll.newBelow = false;
  },
  /** The "New messages" button. */
  jumpToNewest(s, event, out) {
    s.scroll.newBelow = false;
    out.push({ type: 'scroll', to: 'newest' });
  },
  /** {now}: the person is typing in the open conversation. */
  typing(s, { now }, out) {
    if (s.route.name !== 'chat') return;
    const to = s.route.with;
    if (now - (s.typingSentAt.get(to) || 0) < TYPING_EVERY_MS) return;
    if (send(s, out, { action: 'typing', to })) s.typingSentAt.set(to, now);
  },
  /** {query}: find people (already lower-cased). */
  search(s, { query }, out) {
    s.search = { query, results: null };
    if (query) askUsers(s, out, query);
  },
  /** Scrolled to the top of the open conversation. */
  older(s, event, out) {
    if (s.route.name === 'chat') requestHistory(s, out, s.route.with, 'older');
  },
  /** Scrolled to the end of the conversations list. */
  moreConversations(s, event, out) {
    requestConversations(s, out, 'more');
  },
  retryConnection(s, event, out) {
    out.push({ type: 'reconnect' });
  },

  // attachments

  /**
   * {files: [{clientId, name, type, size}], ts}: files chosen (Attach, dropped, pasted) for
   * the open conversation; app.js holds each File under its clientId. Each is sent as a
   * message of its own (the message box's text goes with Send, separately).
   */
  attach(s, { files, ts }, out) {
    if (!canAttach(s)) {
      for (const f of files) out.push(forgetFile(f.clientId));
      return;
    }
    for (const f of files) {
      const type = typeof f.type === 'string' ? f.type.toLowerCase() : '';
      const u = newUpload({ clientId: f.clientId, to: s.route.with, name: cleanFileName(f.name), type, size: f.size, ts });
      s.uploads.set(u.clientId, u);
      const scale = SCALED_TYPES.includes(type);
      if (!typeAllowed(type, s.rules)) refuseUpload(s, out, u, notAllowedWords(u.name, s.rules));
      else if (!(f.size > 0)) refuseUpload(s, out, u, `${u.name} is empty: there is nothing to send`);
      // a photo may fit once scaled down: its size is checked when it is ready
      else if (!scale && !sizeFits(f.size, s.rules)) refuseUpload(s, out, u, tooBigWords(u.name, s.rules));
      else out.push({ type: 'upload', op: 'prepare', clientId: u.clientId, name: u.name, scale });
    }
  },
  /** {clientId, name, fileType, size, previewUrl}: the file is read (a photo scaled down): send it. */
  prepared(s, { clientId, name, fileType: type, size, previewUrl = '' }, out) {
    const u = s.uploads.get(clientId);
    if (!u || u.status !== 'preparing') {
      out.push(forgetFile(clientId));
      return;
    }
    u.name = cleanFileName(name);
    u.type = type;
    u.size = size;
    u.previewUrl = previewUrl;
    if (!typeAllowed(type, s.rules)) refuseUpload(s, out, u, notAllowedWords(u.name, s.rules));
    else if (!sizeFits(size, s.rules)) refuseUpload(s, out, u, tooBigWords(u.name, s.rules));
    else askUpload(s, out, u);
  },
  /** {clientId, loaded, total}: the POST's progress. */
  uploadProgress(s, { clientId, loaded, total }) {
    const u = s.uploads.get(clientId);
    if (!u || u.status !== 'posting' || !(total > 0)) return;
    u.progress = Math.max(u.progress, Math.min(100, Math.floor((loaded * 100) / total)));
  },
  /** {clientId}: the file is stored: it becomes a message, sent (and kept in the outbox) as any other. */
  uploadPosted(s, { clientId }, out) {
    const u = s.uploads.get(clientId);
    if (!u || u.status !== 'posting') return;
    u.status = 'posted';
    u.progress = 100;
    sendPosted(s, out, u.to);
  },
  /** {clientId, status}: the POST failed (status 0: the server was not reached). */
  uploadFailed(s, { clientId, status = 0 }, out) {
    const u = s.uploads.get(clientId);
    if (!u || u.status !== 'posting') return;
    if (s.net !== 'online') {
      u.status = 'queued'; // the same POST again after the welcome, if still valid
      u.progress = 0;
      return;
    }
    // refused by the storage (an expired or broken policy): the next try asks for a new one
    if (status >= 400 && status < 500) u.expiresAt = 0;
    const words = status === 0
      ? `${u.name} could not be uploaded: the server could not be reached.`
      : `${u.name} could not be uploaded.`;
    failUpload(s, out, u, words, { auto: status === 0 });
  },
  /** {clientId}: Cancel upload. */
  cancelUpload(s, { clientId }, out) {
    const u = s.uploads.get(clientId);
    if (!u || u.status === 'failed') return;
    s.uploads.delete(clientId);
    out.push(forgetFile(clientId), { type: 'announce', text: `Upload of ${u.name} cancelled.` }, { type: 'focus', id: 'attach-input' });
    sendPosted(s, out, u.to);
  },
  /** {clientId, now}: Retry of a failed upload. */
  retryUpload(s, { clientId, now }, out) {
    const u = s.uploads.get(clientId);
    if (!u || u.status !== 'failed' || u.final || u.waitUntil) return;
    u.error = '';
    startUpload(s, out, u, now);
    out.push({ type: 'focus', id: `cancel-upload-${clientId}` }); // Retry went away
  },
  /** {clientId}: Dismiss of a failed or refused file. */
  dismissUpload(s, { clientId }, out) {
    const u = s.uploads.get(clientId);
    if (!u || u.status !== 'failed') return;
    s.uploads.delete(clientId);
    out.push(forgetFile(clientId), { type: 'focus', id: 'attach-input' });
  },
  /** {clientId}: a rate-limited upload may be retried now. */
  uploadWaitOver(s, { clientId }, out) {
    const u = s.uploads.get(clientId);
    if (!u || !u.waitUntil) return;
    u.waitUntil = 0;
    if (u.status === 'failed') out.push({ type: 'announce', text: `You can retry ${u.name} now.` });
  },
  /** {key, now}: a photo of the open conversation did not load (its link expired?). */
  linkBroken(s, { key, now }, out) {
    refreshLink(s, out, key, now);
  },
  /** {key, now}: Download clicked on a link that has probably expired: refresh it, then download. */
  refreshDownload(s, { key, now }, out) {
    if (refreshLink(s, out, key, now)) {
      s.downloadWanted = key;
      return;
    }
    const m = openMessage(s, key);
    if (m && m.attachment && m.attachment.url) out.push({ type: 'download', url: m.attachment.url, name: m.attachment.name });
  },
};

const plural = (n, word) => (n === 1 ? word : `${word}s`);

/** The one way the state changes. Unknown events change nothing. */
export function update(state, event) {
  const effects = [];
  const handler = EVENTS[event.type];
  if (!handler) return { state, effects };
  const next = produce(state, (draft) => {
    handler(draft, event, effects);
    effects.forEach(settle);
  });
  return { state: next, effects };
}

/** Replaces drafts inside an effect by plain copies: drafts stop working when produce ends. */
function settle(value) {
  if (isDraft(value)) return current(value);
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const key of Object.keys(value)) value[key] = settle(value[key]);
  }
  return value;
}
