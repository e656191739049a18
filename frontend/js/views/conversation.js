// One conversation: header, history (oldest at the top, older pages on scroll-up, an
// unread divider), the "New messages" button, the typing indicator and the message box.
// Renders from the state only; scrolling, typing and clicks on a message's buttons are
// reported through the handlers given to initConversation.
//
// Structure (for features that add controls):
//   header.conversation-head > … #conversation-actions   conversation-wide buttons (e.g. Block)
//   li.msg > .bubble (who, .msg-attachment, text, meta: time, edited, tick, status, .msg-actions)
//            + .msg-reactions (chips) + .msg-tools (React, Edit message, Delete message;
//            the picker or the delete confirmation in their place)
// A button anywhere in a message row with data-action="<name>" is reported as
// onMessageAction(name, key, emoji) by the one click listener on #messages (emoji: its
// data-emoji); conversation-wide buttons with data-conv="<name>" as onConversationAction(name).
// Attachments: the Attach input, files dropped on the conversation and photos pasted into
// the box are reported as onFiles(files); the tray #uploads (files being sent) has buttons
// with data-upload="<name>", reported as onUploadAction(name, clientId). A photo that does
// not load is reported as onLinkBroken(key); a Download click asks onDownload(key), which
// returns whether it takes the click over (a link to refresh first).

import { avatar, byId, h, reconcile, setText, setTextWithLinks } from '../dom.js';
import { dayKey, dayLabel, fullDateTime, time } from '../format.js';
import { allowedWords, humanSize, lengthNote } from '../rules.js';
import { deliveryStatus, isMissing, isPhoto, reactionOf, sortedMessages } from '../state.js';
import { REACTIONS } from '../update.js';

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
let editingShown = ''; // the key of the message whose text the box holds for editing
let draft = ''; // what the box held before editing began

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
    if (event.key === 'Escape' && editingShown) {
      event.preventDefault();
      handlers.onConversationAction('cancelEdit');
      return;
    }
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && !touchFirst()) {
      event.preventDefault();
      submit();
    }
  });
  box.addEventListener('input', () => {
    showLength(box.value);
    if (box.value.trim() && !editingShown) handlers.onTyping(); // an edit is not "typing…"
  });
  thread.addEventListener('scroll', () => {
    if (thread.scrollTop < LOAD_OLDER_WITHIN_PX) handlers.onNeedOlder();
    const bottom = atBottom(thread);
    if (bottom !== reportedAtBottom) {
      reportedAtBottom = bottom;
      handlers.onScrolled(bottom);
    }
  }, { passive: true });
  const messages = byId('messages');
  messages.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (button) handlers.onMessageAction(button.dataset.action, button.closest('li').dataset.key, button.dataset.emoji);
  });
  // Escape closes the picker or the delete question it is in.
  messages.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    const li = event.target.closest('li.msg');
    if (!li) return;
    if (li.querySelector('.picker')) handlers.onMessageAction('closePicker', li.dataset.key);
    else if (li.querySelector('.msg-confirm')) handlers.onMessageAction('cancelDelete', li.dataset.key);
    else return;
    event.preventDefault();
  });
  for (const id of ['conversation-actions', 'conversation-notice', 'composer']) {
    byId(id).addEventListener('click', (event) => {
      const button = event.target.closest('button[data-conv]');
      if (button) handlers.onConversationAction(button.dataset.conv);
    });
  }
  byId('new-messages').addEventListener('click', () => handlers.onJumpToNewest());
  initAttachments(box, thread, messages);
  const pointer = window.matchMedia('(pointer: coarse)');
  const fitKeys = () => {
    const touch = pointer.matches;
    box.enterKeyHint = touch ? 'enter' : 'send'; // the key's label says what it does
    setText(byId('composer-hint'), touch ? HINTS.touch : HINTS.keyboard);
  };
  pointer.addEventListener('change', fitKeys);
  fitKeys();
}

const hasFiles = (event) => Boolean(event.dataTransfer) && [...event.dataTransfer.types].includes('Files');

function initAttachments(box, thread, messages) {
  const { rules } = handlers;
  const input = byId('attach-input');
  const off = !rules.uploadTypes.length; // this server takes no files
  input.parentElement.hidden = off; // the input with its label, the Attach button
  input.accept = rules.uploadTypes.join(',');
  setText(byId('attach-hint'), `You can send ${allowedWords(rules)} of up to ${humanSize(rules.maxUpload)} each. You can also drop files here or paste a photo.`);
  input.addEventListener('change', () => {
    const files = [...input.files];
    input.value = ''; // the same file can be chosen again
    if (files.length) handlers.onFiles(files);
  });
  const pane = byId('conversation');
  let depth = 0; // dragenter/dragleave pairs of the pane's children
  const dropHere = (event) => !off && hasFiles(event) && !byId('composer').hidden;
  pane.addEventListener('dragenter', (event) => {
    if (!dropHere(event)) return;
    event.preventDefault();
    depth += 1;
    pane.classList.add('is-dropping');
  });
  pane.addEventListener('dragover', (event) => {
    if (!dropHere(event)) return;
    event.preventDefault(); // allows the drop
    event.dataTransfer.dropEffect = 'copy';
  });
  pane.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) pane.classList.remove('is-dropping');
  });
  pane.addEventListener('drop', (event) => {
    depth = 0;
    pane.classList.remove('is-dropping');
    if (!dropHere(event)) return;
    event.preventDefault();
    handlers.onFiles([...event.dataTransfer.files]);
  });
  // A file dropped anywhere else must not make the browser open it (leaving the chat).
  for (const type of ['dragover', 'drop']) {
    window.addEventListener(type, (event) => {
      if (!hasFiles(event) || event.defaultPrevented) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'none';
    });
  }
  box.addEventListener('paste', (event) => {
    if (off) return;
    const files = [...((event.clipboardData && event.clipboardData.files) || [])]
      .filter((file) => file.type.startsWith('image/'));
    if (!files.length) return; // anything else is pasted as text
    event.preventDefault();
    handlers.onFiles(files);
  });
  // A photo that loaded made the thread taller: stay at the newest if we were there.
  messages.addEventListener('load', (event) => {
    if (event.target.tagName === 'IMG' && reportedAtBottom) thread.scrollTop = thread.scrollHeight;
  }, true);
  messages.addEventListener('error', (event) => {
    const li = event.target.tagName === 'IMG' && event.target.closest('li.msg');
    if (li) handlers.onLinkBroken(li.dataset.key);
  }, true);
  messages.addEventListener('click', (event) => {
    const link = event.target.closest('a[data-download]');
    if (link && handlers.onDownload(link.closest('li.msg').dataset.key)) event.preventDefault();
  });
  byId('uploads').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-upload]');
    if (button) handlers.onUploadAction(button.dataset.upload, button.closest('li').dataset.key);
  });
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
  const attachment = h('div', { class: 'msg-attachment', hidden: true });
  const when = h('time', { class: 'msg-time' });
  const tick = h('span', { class: 'msg-tick', attrs: { 'aria-hidden': 'true' } });
  const status = h('span', { class: 'msg-status' });
  const actions = h('span', { class: 'msg-actions' });
  const edited = h('span', { class: 'msg-edited', text: 'edited', hidden: true });
  return h(
    'li',
    { class: 'msg' },
    h('div', { class: 'bubble' }, who, attachment, text, h('span', { class: 'msg-meta' }, when, edited, tick, status, actions)),
    h('div', { class: 'msg-reactions' }),
    h('div', { class: 'msg-tools' }),
  );
}

/** A button with a visible icon and a hidden name (no aria-label: get_by_label('Message')
 * must find only the box). */
function toolButton(action, name, icon, props = {}) {
  return h(
    'button',
    { type: 'button', class: `tool tool--${action}`, dataset: { action }, ...props },
    h('span', { class: 'tool-icon', text: icon, attrs: { 'aria-hidden': 'true' } }),
    h('span', { class: 'visually-hidden', text: name }),
  );
}

/** The tools of one message: what is shown depends on state.tools (picker, delete question). */
function showTools(el, m, state, canAct) {
  const { tools } = state;
  const mine = m.from === state.me;
  const mode = !canAct ? 'none' : tools.deleting === m.key ? 'confirm' : tools.picking === m.key ? 'pick' : 'tools';
  const shape = `${mode}:${mine}:${reactionOf(m, state.me)}`;
  el.classList.toggle('is-open', mode === 'confirm' || mode === 'pick');
  if (el.dataset.shape === shape) return;
  el.dataset.shape = shape;
  if (mode === 'none') {
    el.replaceChildren();
    return;
  }
  if (mode === 'confirm') {
    const question = h('span', { class: 'msg-confirm-text', id: `ask-${m.key}`, text: 'Delete this message for everyone?' });
    el.replaceChildren(h(
      'div',
      { class: 'msg-confirm', attrs: { role: 'group', 'aria-labelledby': `ask-${m.key}` } },
      question,
      h('button', { type: 'button', class: 'button button--danger button--small', id: 'confirm-delete', text: 'Delete for everyone', dataset: { action: 'confirmDelete' } }),
      h('button', { type: 'button', class: 'button button--secondary button--small', text: 'Cancel', dataset: { action: 'cancelDelete' } }),
    ));
    return;
  }
  const react = toolButton('pickReaction', 'React', '☺', { id: `tools-${m.key}` });
  react.setAttribute('aria-expanded', mode === 'pick' ? 'true' : 'false');
  const own = mine ? [toolButton('edit', 'Edit message', '✎'), toolButton('askDelete', 'Delete message', '🗑')] : [];
  const mineNow = reactionOf(m, state.me);
  const picker = mode === 'pick' && h(
    'div',
    { class: 'picker', attrs: { role: 'group', 'aria-label': 'Pick a reaction' } },
    REACTIONS.map((emoji, i) => h('button', {
      type: 'button',
      class: 'pick',
      text: emoji,
      id: i === 0 ? `pick-${m.key}` : undefined,
      dataset: { action: 'react', emoji },
      attrs: { 'aria-pressed': mineNow === emoji ? 'true' : 'false' },
    })),
  );
  el.replaceChildren(react, ...own, ...(picker ? [picker] : []));
}

/** The reaction chips under a message: emoji and count; pressed when one is mine. */
function showReactions(el, m, state, canAct) {
  const entries = m.deleted ? [] : Object.entries(m.reactions || {}).filter(([, names]) => names.length);
  const shape = JSON.stringify([entries, canAct]);
  if (el.dataset.shape === shape) return;
  el.dataset.shape = shape;
  el.replaceChildren(...entries.map(([emoji, names]) => {
    const mine = names.includes(state.me);
    const who = names.map((n) => (n === state.me ? 'you' : n)).join(', ');
    return h(
      'button',
      {
        type: 'button',
        class: `chip${mine ? ' chip--mine' : ''}`,
        disabled: !canAct,
        title: who,
        dataset: { action: 'react', emoji },
        attrs: { 'aria-pressed': mine ? 'true' : 'false', 'aria-label': `${emoji} ${names.length}: ${who}` },
      },
      h('span', { text: emoji, attrs: { 'aria-hidden': 'true' } }),
      h('span', { class: 'chip-count', text: String(names.length), attrs: { 'aria-hidden': 'true' } }),
    );
  }));
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

/**
 * What a message carries: a photo inline (a link to the full image), or a file's name and
 * size with its Download link. A copy not from the server yet may have no link.
 */
function showAttachment(el, a) {
  const shape = a ? JSON.stringify([a.id, a.url, a.name, a.type, a.size]) : '';
  if (el.dataset.shape === shape) return;
  el.dataset.shape = shape;
  el.hidden = !a;
  if (!a) {
    el.replaceChildren();
    return;
  }
  if (isPhoto(a) && a.url) {
    const img = h('img', { class: 'attachment-img', alt: a.name, loading: 'lazy', decoding: 'async', src: a.url });
    el.replaceChildren(h('a', { class: 'attachment-photo', href: a.url, target: '_blank', rel: 'noopener' }, img));
    return;
  }
  const download = a.url && h(
    'a',
    { class: 'attachment-download', href: a.url, download: a.name, dataset: { download: '' } },
    'Download',
    h('span', { class: 'visually-hidden', text: ` ${a.name}` }),
  );
  el.replaceChildren(h(
    'div',
    { class: 'attachment-file' },
    h('span', { class: 'attachment-icon', attrs: { 'aria-hidden': 'true' } }),
    h(
      'span',
      { class: 'attachment-about' },
      h('span', { class: 'attachment-name', text: a.name }),
      h('span', { class: 'attachment-size', text: humanSize(a.size) }),
    ),
    download,
  ));
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
  const text = bubble.querySelector('.msg-text');
  li.classList.toggle('msg--deleted', m.deleted);
  if (m.deleted) setText(text, 'This message was deleted');
  else setTextWithLinks(text, m.text);
  text.hidden = !m.deleted && !m.text && Boolean(m.attachment); // a file alone: no empty line
  showAttachment(bubble.querySelector('.msg-attachment'), m.deleted ? null : m.attachment);
  bubble.querySelector('.msg-edited').hidden = !m.edited_at || m.deleted;
  li.classList.toggle('msg--editing', Boolean(state.tools.editing && state.tools.editing.key === m.key));
  const canAct = Boolean(m.id) && !m.deleted && state.net === 'online' && !state.blocked.has(state.route.with);
  showReactions(li.children[1], m, state, canAct);
  showTools(li.children[2], m, state, canAct);
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
  const blocked = state.blocked.has(other);
  const asking = state.tools.blocking === other;
  const actions = byId('conversation-actions');
  const shape = isMissing(state, other) ? 'none' : blocked ? 'unblock' : asking ? 'asking' : 'block';
  if (actions.dataset.shape !== shape) {
    actions.dataset.shape = shape;
    const button = shape === 'unblock'
      ? h('button', { type: 'button', id: 'block-button', class: 'button button--secondary button--small', text: 'Unblock', dataset: { conv: 'unblock' } })
      : shape === 'block'
        ? h('button', { type: 'button', id: 'block-button', class: 'button button--ghost button--small', text: 'Block', dataset: { conv: 'askBlock' } })
        : null;
    actions.replaceChildren(...(button ? [button] : []));
  }
  const notice = byId('conversation-notice');
  const noticeShape = asking ? `asking:${other}` : blocked ? `blocked:${other}` : '';
  notice.hidden = !noticeShape;
  if (notice.dataset.shape !== noticeShape) {
    notice.dataset.shape = noticeShape;
    if (asking) {
      notice.replaceChildren(h(
        'div',
        { class: 'confirm-bar', attrs: { role: 'group', 'aria-labelledby': 'block-question' } },
        h('p', { id: 'block-question', text: `Block ${other}? They won’t be able to message you, and they won’t be told.` }),
        h('div', { class: 'confirm-actions' },
          h('button', { type: 'button', id: 'confirm-block', class: 'button button--danger button--small', text: 'Block', dataset: { conv: 'confirmBlock' } }),
          h('button', { type: 'button', class: 'button button--secondary button--small', text: 'Cancel', dataset: { conv: 'cancelBlock' } })),
      ));
    } else if (blocked) {
      notice.replaceChildren(h('p', { class: 'blocked-notice', text: `You blocked ${other}. You don’t get their messages; use Unblock above to write to each other again.` }));
    } else {
      notice.replaceChildren();
    }
  }
}

/** The message box while editing: the message's text, Save instead of Send, and Cancel. */
function renderEditing(state) {
  const box = byId('message');
  const editing = state.tools.editing;
  const key = editing ? editing.key : '';
  if (key !== editingShown) {
    if (!editingShown) draft = box.value;
    box.value = editing ? editing.text : draft;
    if (!editing) draft = '';
    editingShown = key;
    showLength(box.value);
  }
  setText(byId('send-button'), editing ? 'Save' : 'Send');
  byId('cancel-edit').hidden = !editing;
  byId('editing-note').hidden = !editing;
  byId('composer').classList.toggle('composer--editing', Boolean(editing));
}

const UPLOAD_WORDS = {
  preparing: 'Getting it ready…',
  queued: 'Waiting for the connection…',
  asking: 'Starting…',
  posted: 'Uploaded; sent after the files before it',
};

function createUpload(u) {
  const nameId = `upload-name-${u.clientId}`;
  return h(
    'li',
    { class: 'upload' },
    h(
      'div',
      { class: 'upload-head' },
      h('span', { class: 'upload-name', id: nameId }),
      h('span', { class: 'upload-size' }),
    ),
    h(
      'div',
      { class: 'upload-progress' },
      h(
        'div',
        { class: 'progress', attrs: { role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' } },
        h('span', { class: 'progress-fill' }),
      ),
      h('span', { class: 'upload-percent', attrs: { 'aria-hidden': 'true' } }),
    ),
    h('p', { class: 'upload-note' }),
    h('div', { class: 'upload-actions' }),
  );
}

/** The buttons of one upload; each described by the file's name (several may be shown). */
function uploadButtons(u) {
  const described = { 'aria-describedby': `upload-name-${u.clientId}` };
  if (u.status !== 'failed') {
    return [h('button', {
      type: 'button', class: 'button button--ghost button--small', id: `cancel-upload-${u.clientId}`, text: 'Cancel',
      dataset: { upload: 'cancelUpload' }, attrs: { 'aria-label': 'Cancel upload', ...described },
    })];
  }
  const retry = !u.final && !u.waitUntil && h('button', {
    type: 'button', class: 'button button--secondary button--small', text: 'Retry',
    dataset: { upload: 'retryUpload' }, attrs: described,
  });
  return [retry, h('button', {
    type: 'button', class: 'button button--ghost button--small', text: 'Dismiss',
    dataset: { upload: 'dismissUpload' }, attrs: described,
  })];
}

function updateUpload(li, u) {
  const failed = u.status === 'failed';
  li.classList.toggle('upload--failed', failed);
  setText(li.querySelector('.upload-name'), u.name);
  setText(li.querySelector('.upload-size'), humanSize(u.size));
  li.querySelector('.upload-progress').hidden = failed;
  const bar = li.querySelector('.progress');
  const label = `Uploading ${u.name}`;
  if (bar.getAttribute('aria-label') !== label) bar.setAttribute('aria-label', label);
  const percent = String(u.progress);
  if (bar.getAttribute('aria-valuenow') !== percent) bar.setAttribute('aria-valuenow', percent);
  li.querySelector('.progress-fill').style.width = `${u.progress}%`; // CSSOM: allowed by the CSP
  setText(li.querySelector('.upload-percent'), `${u.progress} %`);
  setText(li.querySelector('.upload-note'), failed ? u.error : UPLOAD_WORDS[u.status] || '');
  const actions = li.querySelector('.upload-actions');
  const shape = `${u.status === 'failed'}:${u.final}:${Boolean(u.waitUntil)}`;
  if (actions.dataset.shape !== shape) {
    actions.dataset.shape = shape;
    actions.replaceChildren(...uploadButtons(u).filter(Boolean));
  }
}

/** The tray above the message box: the files being sent to this person. */
function renderUploads(state, other) {
  const list = byId('uploads');
  const shown = [...state.uploads.values()].filter((u) => u.to === other);
  list.hidden = !shown.length;
  reconcile(list, shown, (u) => u.clientId, createUpload, updateUpload);
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
    editingShown = '';
    draft = '';
  }
  renderHeader(state, other);
  const typing = (state.typing.get(other) || 0) > Date.now();
  setText(byId('typing'), typing ? `${other} is typing…` : '');
  const missing = isMissing(state, other);
  byId('composer').hidden = missing || state.blocked.has(other);
  renderEditing(state);
  renderUploads(state, other);
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
