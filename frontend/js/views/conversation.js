// One conversation: header, history (oldest at the top, older pages on scroll-up, an
// unread divider), the "New messages" button, the typing indicator and the message box.
// Renders from the state only; scrolling, typing and clicks on a message's buttons are
// reported through the handlers given to initConversation.
//
// Structure (for features that add controls):
//   header.conversation-head > … #conversation-actions   conversation-wide buttons (e.g. Block)
//   li.msg > .bubble (who, text, meta: time, tick, status, .msg-actions) + .msg-tools
// A button anywhere in a message row with data-action="<name>" is reported as
// onMessageAction(name, key) by the one click listener on #messages.

import { avatar, byId, h, reconcile, setText } from '../dom.js';
import { dayKey, dayLabel, fullDateTime, time } from '../format.js';
import { lengthNote } from '../rules.js';
import { deliveryStatus, isMissing, sortedMessages } from '../state.js';

const LOAD_OLDER_WITHIN_PX = 150;
const STICK_TO_BOTTOM_PX = 60;
const GROUP_WITHIN_MS = 5 * 60 * 1000;

const STATUS_WORDS = { pending: 'Sending…', sent: 'Sent', read: 'Read', failed: 'Not sent' };
const TICKS = { sent: '✓', read: '✓✓' }; // shown only; the status words say it to everyone
const HINTS = {
  keyboard: 'Enter sends, Shift+Enter adds a line.',
  touch: 'Enter adds a line; the Send button sends.',
};

let shownWith = null;
let landedOn = ''; // the unread divider the thread was last scrolled to
let reportedAtBottom = true;
let handlers = null;

/** A touch screen is the main pointer: Enter adds a line there, and Send sends. */
const touchFirst = () => window.matchMedia('(pointer: coarse)').matches;
const narrow = () => !window.matchMedia('(min-width: 721px)').matches;

function atBottom(thread) {
  return thread.scrollHeight - thread.scrollTop - thread.clientHeight < STICK_TO_BOTTOM_PX;
}

export function initConversation(h_) {
  handlers = h_;
  const box = byId('message');
  const thread = byId('thread');
  byId('composer').addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && !touchFirst()) {
      event.preventDefault();
      submit();
    }
  });
  box.addEventListener('input', () => {
    showLength(box.value);
    if (box.value.trim()) handlers.onTyping();
  });
  thread.addEventListener('scroll', () => {
    if (thread.scrollTop < LOAD_OLDER_WITHIN_PX) handlers.onNeedOlder();
    const bottom = atBottom(thread);
    if (bottom !== reportedAtBottom) {
      reportedAtBottom = bottom;
      handlers.onScrolled(bottom);
    }
  }, { passive: true });
  byId('messages').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (button) handlers.onMessageAction(button.dataset.action, button.closest('li').dataset.key);
  });
  byId('new-messages').addEventListener('click', () => handlers.onJumpToNewest());
  const pointer = window.matchMedia('(pointer: coarse)');
  const fitKeys = () => {
    const touch = pointer.matches;
    box.enterKeyHint = touch ? 'enter' : 'send'; // the key's label says what it does
    setText(byId('composer-hint'), touch ? HINTS.touch : HINTS.keyboard);
  };
  pointer.addEventListener('change', fitKeys);
  fitKeys();
}

function submit() {
  const box = byId('message');
  const text = box.value.replace(/\s+$/, '');
  if (!text.trim()) return;
  if (handlers.onSend(text)) {
    box.value = '';
    showLength('');
    box.focus();
  }
}

function showLength(text) {
  const note = lengthNote(text, handlers.rules);
  const count = byId('composer-count');
  count.hidden = !note.text;
  setText(count, note.text);
  count.classList.toggle('is-over', note.over);
  byId('message').setAttribute('aria-invalid', note.over ? 'true' : 'false');
}

function createItem(item) {
  if (item.kind === 'day') {
    return h('li', { class: 'day' }, h('span', { class: 'day-label' }));
  }
  if (item.kind === 'unread') {
    return h('li', { class: 'unread-divider', id: 'unread-divider', text: 'Unread messages' });
  }
  const text = h('p', { class: 'msg-text' });
  const who = h('span', { class: 'visually-hidden msg-who' });
  const when = h('time', { class: 'msg-time' });
  const tick = h('span', { class: 'msg-tick', attrs: { 'aria-hidden': 'true' } });
  const status = h('span', { class: 'msg-status' });
  const actions = h('span', { class: 'msg-actions' });
  return h(
    'li',
    { class: 'msg' },
    h('div', { class: 'bubble' }, who, text, h('span', { class: 'msg-meta' }, when, tick, status, actions)),
    h('div', { class: 'msg-tools' }),
  );
}

/** The buttons a failed message offers: Retry unless the server refused it for good. */
function failedActions(m) {
  // No aria-label with "message" in it: get_by_label('Message') must find only the box.
  const dismiss = { action: 'dismiss', text: 'Dismiss' };
  // A rate-limited message offers Retry only once its wait is over.
  return m.final || m.waitUntil ? [dismiss] : [{ action: 'retry', text: 'Retry' }, dismiss];
}

function showActions(el, wanted) {
  const have = [...el.children].map((b) => b.dataset.action).join();
  if (have === wanted.map((a) => a.action).join()) return;
  el.replaceChildren(...wanted.map((a) => h('button', {
    type: 'button',
    class: a.action,
    text: a.text,
    dataset: { action: a.action },
  })));
}

function updateItem(li, item, state, t) {
  if (item.kind === 'day') {
    setText(li.firstElementChild, item.label);
    return;
  }
  if (item.kind === 'unread') return;
  const m = item.message;
  const mine = m.from === state.me;
  li.classList.toggle('msg--mine', mine);
  li.classList.toggle('msg--theirs', !mine);
  li.classList.toggle('msg--grouped', item.grouped);
  if (m.id) li.dataset.id = m.id;
  li.dataset.clientId = m.client_id;
  const bubble = li.firstElementChild;
  setText(bubble.querySelector('.msg-who'), mine ? 'You: ' : `${m.from}: `);
  setText(bubble.querySelector('.msg-text'), m.text);
  const when = bubble.querySelector('.msg-time');
  setText(when, time(m.ts));
  when.dateTime = m.ts;
  when.title = fullDateTime(m.ts);
  const status = mine ? deliveryStatus(t, m) : '';
  if (status) li.dataset.status = status;
  else delete li.dataset.status;
  const words = status === 'failed' && m.error ? `Not sent: ${m.error}` : STATUS_WORDS[status] || '';
  setText(bubble.querySelector('.msg-status'), words);
  setText(bubble.querySelector('.msg-tick'), TICKS[status] || '');
  showActions(bubble.querySelector('.msg-actions'), status === 'failed' ? failedActions(m) : []);
}

function items(messages, firstUnreadId) {
  const out = [];
  let lastDay = '';
  let prev = null;
  for (const m of messages) {
    const day = dayKey(m.ts);
    if (day !== lastDay) {
      out.push({ kind: 'day', key: `day:${day}`, label: dayLabel(m.ts) });
      lastDay = day;
      prev = null;
    }
    if (firstUnreadId && m.id === firstUnreadId) {
      out.push({ kind: 'unread', key: 'unread' });
      prev = null;
    }
    const grouped = Boolean(
      prev && prev.from === m.from && Date.parse(m.ts) - Date.parse(prev.ts) < GROUP_WITHIN_MS,
    );
    out.push({ kind: 'msg', key: m.key, message: m, grouped });
    prev = m;
  }
  return out;
}

function topLine(state, other, t) {
  if (isMissing(state, other)) return '';
  if (t.error) return t.error;
  if (t.loading === 'latest' && !t.messages.size) return 'Loading messages…';
  if (t.loading === 'older') return 'Loading earlier messages…';
  if (!t.loaded) return state.net === 'online' ? 'Loading messages…' : '';
  if (t.hasMore) return '';
  return t.messages.size
    ? `This is the beginning of your conversation with ${other}.`
    : `No messages yet. Say hello to ${other}!`;
}

function renderHeader(state, other) {
  setText(byId('peer-name'), other);
  const online = Boolean(state.presence.get(other));
  const statusEl = byId('peer-status');
  const connected = state.net === 'online';
  const words = isMissing(state, other) ? 'No such user' : !connected ? 'Connecting…' : online ? 'Online' : 'Offline';
  setText(statusEl, words);
  statusEl.classList.toggle('is-online', connected && online);
}

export function renderConversation(state, t) {
  const open = state.route.name === 'chat' && state.phase !== 'signed-out';
  byId('conversation').hidden = !open;
  byId('pane-empty').hidden = open;
  if (!open) {
    shownWith = null;
    return;
  }
  const other = state.route.with;
  const switched = shownWith !== other;
  shownWith = other;

  if (switched) {
    byId('peer-avatar').replaceChildren(avatar(other, 'avatar--large'));
    byId('message').value = '';
    showLength('');
    byId('thread').setAttribute('aria-label', `Conversation history with ${other}`);
    landedOn = '';
    reportedAtBottom = true;
  }
  renderHeader(state, other);
  const typing = (state.typing.get(other) || 0) > Date.now();
  setText(byId('typing'), typing ? `${other} is typing…` : '');
  const missing = isMissing(state, other);
  byId('composer').hidden = missing;
  const nobody = byId('no-such-user');
  nobody.hidden = !missing;
  setText(nobody, missing ? `There is no one with the username ${other}. Check the spelling, or use Find user.` : '');
  byId('new-messages').hidden = !state.scroll.newBelow;

  const thread = byId('thread');
  const list = byId('messages');
  const fromBottom = thread.scrollHeight - thread.scrollTop;
  const wasAtBottom = atBottom(thread);
  const firstBefore = list.querySelector('li.msg');
  const lastBefore = list.lastElementChild;

  setText(byId('thread-top'), topLine(state, other, t));
  const firstUnread = t.unreadMark ? t.unreadMark.firstId : '';
  reconcile(list, items(sortedMessages(t), firstUnread), (i) => i.key, createItem, (el, i) => updateItem(el, i, state, t));

  const firstAfter = list.querySelector('li.msg');
  const lastAfter = list.lastElementChild;
  const grewAtTop = firstBefore && firstAfter !== firstBefore && list.contains(firstBefore);
  const newOwnAtBottom = lastAfter !== lastBefore && lastAfter && lastAfter.classList.contains('msg--mine');
  const divider = firstUnread && byId('unread-divider');
  if (divider && landedOn !== `${other}/${firstUnread}`) {
    landedOn = `${other}/${firstUnread}`; // land at the first unread, once
    thread.scrollTop = divider.offsetTop - 8;
  } else if (switched || wasAtBottom || newOwnAtBottom) {
    thread.scrollTop = thread.scrollHeight;
  } else if (grewAtTop) {
    thread.scrollTop = thread.scrollHeight - fromBottom;
  }
}

/** Scrolls to the newest message; keeps keyboard focus in the thread if it was on the button. */
export function showNewest() {
  const thread = byId('thread');
  thread.scrollTop = thread.scrollHeight;
  const active = document.activeElement;
  if (!active || active === document.body || active.id === 'new-messages') thread.focus({ preventScroll: true });
}

/** Focus where an opened conversation starts: the message box, or the heading on a phone
 * (no keyboard popping up) and when there is no message box (no such user). */
export function focusConversation() {
  const box = byId('message');
  if (narrow() || byId('composer').hidden) byId('peer-name').focus();
  else box.focus();
}

/** Whether the open conversation is too short to scroll (so scrolling up can't ask for more). */
export function threadIsShort() {
  const thread = byId('thread');
  return !byId('conversation').hidden && thread.scrollHeight <= thread.clientHeight + 10;
}
