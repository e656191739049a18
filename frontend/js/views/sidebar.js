// The sidebar: who I am, Sign out, Find user, and the conversations list (further pages
// as it scrolls to its end).

import { avatar, byId, h, reconcile, setText } from '../dom.js';
import { listTime } from '../format.js';
import { chatPath } from '../router.js';
import { previewText, sortedConversations } from '../state.js';

const SEARCH_DELAY_MS = 200;
const LOAD_MORE_WITHIN_PX = 150;

const nearEnd = (el) => el.scrollHeight - el.scrollTop - el.clientHeight < LOAD_MORE_WITHIN_PX;

export function initSidebar({ onSearch, onOpen, onSignOut, onNeedMore }) {
  const lists = byId('lists');
  lists.addEventListener('scroll', () => {
    if (!byId('conversations-section').hidden && nearEnd(lists)) onNeedMore();
  }, { passive: true });
  const input = byId('find-user');
  let timer = 0;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => onSearch(input.value.trim().toLowerCase()), SEARCH_DELAY_MS);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.isComposing) {
      // Opening the chat moves focus to the message box: Enter must not reach it.
      event.preventDefault();
      onOpen(input.value.trim().toLowerCase());
    } else if (event.key === 'Escape' && input.value) {
      input.value = '';
      onSearch('');
    }
  });
  byId('signout-button').addEventListener('click', onSignOut);
}

/** Whether the conversations list ends within sight (so scrolling can't ask for more). */
export function conversationListNearEnd() {
  const lists = byId('lists');
  // clientHeight 0: not shown (signed out, or a phone showing the open conversation)
  return lists.clientHeight > 0 && !byId('conversations-section').hidden && nearEnd(lists);
}

/** Focus for the list view: the row of `other` (the conversation just left), else Find user. */
export function focusList(other) {
  const rows = [...byId('conversation-list').children];
  const row = other && rows.find((li) => li.dataset.key === other);
  (row ? row.firstElementChild : byId('find-user')).focus();
}

export function clearSearchBox() {
  byId('find-user').value = '';
}

function createRow() {
  const name = h('span', { class: 'conv-name' });
  const when = h('time', { class: 'conv-time' });
  const preview = h('span', { class: 'conv-preview' });
  const badge = h('span', { class: 'badge' });
  const presence = h('span', { class: 'visually-hidden presence-text' });
  const unreadText = h('span', { class: 'visually-hidden unread-text' });
  const avatarSlot = h('span', { class: 'avatar-slot' });
  const link = h(
    'a',
    { class: 'conv', dataset: { nav: '' } },
    avatarSlot,
    h(
      'span',
      { class: 'conv-main' },
      h('span', { class: 'conv-top' }, name, presence, when),
      h('span', { class: 'conv-bottom' }, preview, badge, unreadText),
    ),
  );
  return h('li', {}, link);
}

function updateRow(li, item, state) {
  const link = li.firstElementChild;
  const online = Boolean(state.presence.get(item.with));
  link.href = chatPath(item.with);
  if (state.route.name === 'chat' && state.route.with === item.with) {
    link.setAttribute('aria-current', 'page');
  } else {
    link.removeAttribute('aria-current');
  }
  const slot = link.querySelector('.avatar-slot');
  if (slot.dataset.name !== item.with) {
    slot.dataset.name = item.with;
    slot.replaceChildren(avatar(item.with), h('span', { class: 'dot', attrs: { 'aria-hidden': 'true' } }));
  }
  slot.classList.toggle('is-online', online);
  setText(link.querySelector('.conv-name'), item.with);
  setText(link.querySelector('.presence-text'), online ? ', online' : ', offline');
  const time = link.querySelector('.conv-time');
  const preview = link.querySelector('.conv-preview');
  const typing = (state.typing.get(item.with) || 0) > Date.now();
  preview.classList.toggle('conv-preview--typing', typing);
  if (item.last) {
    setText(time, listTime(item.last.ts));
    time.dateTime = item.last.ts;
    const mine = item.last.from === state.me;
    const text = previewText(item.last);
    setText(preview, typing ? 'typing…' : (mine ? 'You: ' : '') + text);
  } else {
    setText(time, '');
    setText(preview, online ? 'Online' : 'Offline');
  }
  const unread = item.unread || 0;
  const badge = link.querySelector('.badge');
  badge.hidden = unread === 0;
  badge.setAttribute('aria-hidden', 'true');
  setText(badge, unread > 99 ? '99+' : String(unread));
  setText(
    link.querySelector('.unread-text'),
    unread ? `, ${unread} unread message${unread === 1 ? '' : 's'}` : '',
  );
  link.classList.toggle('conv--unread', unread > 0);
}

export function renderSidebar(state) {
  setText(byId('me-name'), state.me || '');
  const searching = state.search.query !== '';
  byId('search-section').hidden = !searching;
  byId('conversations-section').hidden = searching;

  if (searching) {
    const results = (state.search.results || []).map((r) => ({ with: r.username, last: null, unread: 0 }));
    reconcile(byId('search-results'), results, (i) => i.with, createRow, (el, i) => updateRow(el, i, state));
    byId('search-empty').hidden = !(state.search.results && results.length === 0);
    return;
  }
  const items = sortedConversations(state);
  reconcile(byId('conversation-list'), items, (i) => i.with, createRow, (el, i) => updateRow(el, i, state));
  byId('conversations-empty').hidden = items.length > 0 || state.phase !== 'signed-in';
}
