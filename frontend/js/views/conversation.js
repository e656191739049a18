// One conversation: header, history (oldest at the top, older pages on
// scroll-up), typing indicator and the message box. Renders from the state only;
// scrolling and typing are reported through the handlers given to initConversation.

import { avatar, byId, h, reconcile, setText } from '../dom.js';
import { dayKey, dayLabel, fullDateTime, time } from '../format.js';
import { deliveryStatus, sortedMessages } from '../state.js';

const LOAD_OLDER_WITHIN_PX = 150;
const STICK_TO_BOTTOM_PX = 60;
const GROUP_WITHIN_MS = 5 * 60 * 1000;

const STATUS_WORDS = { pending: 'Sending…', sent: 'Sent', read: 'Read', failed: 'Not sent' };

let shownWith = null;
let handlers = null;

export function initConversation(h_) {
  handlers = h_;
  const box = byId('message');
  const thread = byId('thread');
  byId('composer').addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  box.addEventListener('input', () => {
    if (box.value.trim()) handlers.onTyping();
  });
  thread.addEventListener('scroll', () => {
    if (thread.scrollTop < LOAD_OLDER_WITHIN_PX) handlers.onNeedOlder();
  }, { passive: true });
  byId('messages').addEventListener('click', (event) => {
    const retry = event.target.closest('button.retry');
    if (retry) handlers.onRetry(retry.closest('li').dataset.key);
  });
}

function submit() {
  const box = byId('message');
  const text = box.value.replace(/\s+$/, '');
  if (!text.trim()) return;
  if (handlers.onSend(text)) {
    box.value = '';
    box.focus();
  }
}

function createItem(item) {
  if (item.kind === 'day') {
    return h('li', { class: 'day' }, h('span', { class: 'day-label' }));
  }
  const text = h('p', { class: 'msg-text' });
  const who = h('span', { class: 'visually-hidden msg-who' });
  const when = h('time', { class: 'msg-time' });
  const status = h('span', { class: 'msg-status' });
  return h(
    'li',
    { class: 'msg' },
    h('div', { class: 'bubble' }, who, text, h('span', { class: 'msg-meta' }, when, status)),
  );
}

function updateItem(li, item, state, t) {
  if (item.kind === 'day') {
    setText(li.firstElementChild, item.label);
    return;
  }
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
  const statusEl = bubble.querySelector('.msg-status');
  if (mine) {
    const status = deliveryStatus(t, m);
    li.dataset.status = status;
    const words = status === 'failed' && m.error ? `Not sent: ${m.error}` : STATUS_WORDS[status];
    setText(statusEl, words);
    let retry = bubble.querySelector('button.retry');
    if (status === 'failed' && !retry) {
      retry = h('button', { type: 'button', class: 'retry', text: 'Retry' });
      bubble.querySelector('.msg-meta').append(retry);
    } else if (status !== 'failed' && retry) {
      retry.remove();
    }
  } else {
    delete li.dataset.status;
    setText(statusEl, '');
  }
}

function items(messages) {
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
    const grouped = Boolean(
      prev && prev.from === m.from && Date.parse(m.ts) - Date.parse(prev.ts) < GROUP_WITHIN_MS,
    );
    out.push({ kind: 'msg', key: m.key, message: m, grouped });
    prev = m;
  }
  return out;
}

function topLine(state, other, t) {
  if (t.error) return t.error;
  if (t.loading === 'latest' && !t.messages.size) return 'Loading messages…';
  if (t.loading === 'older') return 'Loading earlier messages…';
  if (!t.loaded) return state.net === 'online' ? 'Loading messages…' : '';
  if (t.hasMore) return '';
  return t.messages.size
    ? `This is the beginning of your conversation with ${other}.`
    : `No messages yet. Say hello to ${other}!`;
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
    byId('thread').setAttribute('aria-label', `Conversation history with ${other}`);
  }
  setText(byId('peer-name'), other);
  const online = Boolean(state.presence.get(other));
  const typing = (state.typing.get(other) || 0) > Date.now();
  const statusEl = byId('peer-status');
  const connected = state.net === 'online';
  setText(statusEl, !connected ? 'Connecting…' : online ? 'Online' : 'Offline');
  statusEl.classList.toggle('is-online', connected && online);
  setText(byId('typing'), typing ? `${other} is typing…` : '');

  const thread = byId('thread');
  const list = byId('messages');
  const fromBottom = thread.scrollHeight - thread.scrollTop;
  const atBottom = fromBottom - thread.clientHeight < STICK_TO_BOTTOM_PX;
  const firstBefore = list.querySelector('li.msg');
  const lastBefore = list.lastElementChild;

  setText(byId('thread-top'), topLine(state, other, t));
  const messages = sortedMessages(t);
  reconcile(list, items(messages), (i) => i.key, createItem, (el, i) => updateItem(el, i, state, t));

  const firstAfter = list.querySelector('li.msg');
  const lastAfter = list.lastElementChild;
  const grewAtTop = firstBefore && firstAfter !== firstBefore && list.contains(firstBefore);
  const newOwnAtBottom = lastAfter !== lastBefore && lastAfter && lastAfter.classList.contains('msg--mine');
  if (switched || atBottom || newOwnAtBottom) {
    thread.scrollTop = thread.scrollHeight;
  } else if (grewAtTop) {
    thread.scrollTop = thread.scrollHeight - fromBottom;
  }
  if (switched && window.matchMedia('(min-width: 721px)').matches) byId('message').focus();
}

/** Whether the open conversation is too short to scroll (so scrolling up can't ask for more). */
export function threadIsShort() {
  const thread = byId('thread');
  return !byId('conversation').hidden && thread.scrollHeight <= thread.clientHeight + 10;
}
