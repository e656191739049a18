// Wires the DOM, the socket and the state together; the behaviour is in update.js.
// Every event goes through dispatch: update() gives the next state and the effects,
// the views draw the state once per burst of events, and the effects are carried out here.

import { Connection } from './connection.js';
import { byId } from './dom.js';
import { createRouter } from './router.js';
import { isUsername, readConfig } from './rules.js';
import { createState, threadOf, totalUnread } from './state.js';
import { newClientId, outbox, session } from './storage.js';
import {
  canWrite, linkIsStale, update, wantsMoreConversations, wantsOlderHistory,
} from './update.js';
import { createUploads, download } from './uploads.js';
import {
  clearAccountFields, initAccount, renderAccount, showAccount,
} from './views/account.js';
import { announce } from './views/announcer.js';
import { initBanner, renderBanner } from './views/banner.js';
import {
  focusConversation, initConversation, renderConversation, showNewest, threadIsShort,
} from './views/conversation.js';
import {
  clearSearchBox, conversationListNearEnd, focusList, initSidebar, renderSidebar,
} from './views/sidebar.js';
import { clearSigninForm, initSignin, renderSignin } from './views/signin.js';

/** Events a message row's buttons may dispatch (their data-action is the event type). */
const MESSAGE_ACTIONS = new Set([
  'retry', 'dismiss', 'edit', 'askDelete', 'cancelDelete', 'confirmDelete', 'pickReaction', 'closePicker', 'react',
]);
/** Events the conversation's own buttons may dispatch (their data-conv is the event type). */
const CONVERSATION_ACTIONS = new Set(['askBlock', 'cancelBlock', 'confirmBlock', 'unblock', 'cancelEdit']);
/** Events the buttons of a file being sent may dispatch (their data-upload is the event type). */
const UPLOAD_ACTIONS = new Set(['cancelUpload', 'retryUpload', 'dismissUpload']);
/** Events the Account dialog's buttons may dispatch (their data-account is the event type). */
const ACCOUNT_ACTIONS = new Set([
  'closeAccount', 'askSignOutEverywhere', 'cancelSignOutEverywhere', 'signOutEverywhere',
]);
const CLEAR = { search: clearSearchBox, password: clearSigninForm, account: clearAccountFields };

/** Starts the client on this page; call once. */
export function start(rawConfig = window.CHAT_CONFIG) {
  const { websocketUrl, rules } = readConfig(rawConfig);
  const router = createRouter((route) => dispatch({ type: 'route', route }), (name) => isUsername(name, rules));
  let state = createState({
    route: router.initial,
    session: { username: session.username, token: session.token },
    rules,
    visible: document.visibilityState === 'visible',
  });
  let drawQueued = false;
  const uploads = createUploads((event) => dispatch(event), rules.uploadTypes);
  const connection = new Connection(websocketUrl || defaultWebsocketUrl(), {
    onOpen: () => dispatch({ type: 'open' }),
    onFrame: (frame) => dispatch({ type: 'frame', frame, now: Date.now() }),
    onStatus: (status) => dispatch({ type: 'status', status }),
  });

  function dispatch(event) {
    const result = update(state, event);
    state = result.state;
    render();
    for (const effect of result.effects) EFFECTS[effect.type](effect);
  }

  const EFFECTS = {
    send: ({ frame }) => connection.send(frame),
    session: ({ op, username, token }) => (op === 'save' ? session.save(username, token) : session.clear()),
    outbox({ op, username, item, clientId }) {
      if (op === 'read') dispatch({ type: 'outbox', items: outbox.list(username) });
      else if (op === 'add') outbox.add(username, item);
      else if (op === 'remove') outbox.remove(username, clientId);
      else outbox.clear(username);
    },
    announce: ({ text }) => announce(text),
    navigate: ({ path, replace }) => router.go(path, { replace }),
    focus: (effect) => queueMicrotask(() => focus(effect)), // after the draw that shows it
    scroll: () => queueMicrotask(showNewest),
    clear: ({ field }) => CLEAR[field](),
    dialog: ({ op }) => showAccount(op === 'open'),
    later: ({ ms, event }) => setTimeout(() => dispatch(event), ms),
    reconnect: () => connection.reconnectNow(),
    upload: (effect) => uploads.run(effect),
    download,
  };

  function focus({ id, view, with: other }) {
    if (view === 'conversation') focusConversation();
    else if (view === 'list') focusList(other);
    else byId(id)?.focus(); // (gone already if the draw removed it)
  }

  // Many events can arrive at once; draw once after them.
  function render() {
    if (drawQueued) return;
    drawQueued = true;
    queueMicrotask(draw);
  }

  function draw() {
    drawQueued = false;
    const signedOut = state.phase === 'signed-out';
    const layout = byId('chat');
    layout.hidden = signedOut;
    layout.classList.toggle('layout--chat-open', state.route.name === 'chat');
    layout.classList.toggle('layout--offline', state.net !== 'online');
    renderBanner(state);
    renderSignin(state);
    if (signedOut) return;
    renderAccount(state);
    renderSidebar(state);
    const open = state.route.name === 'chat';
    renderConversation(state, open ? threadOf(state, state.route.with) : null);
    const unread = totalUnread(state);
    const title = open ? `${state.route.with} · Chat` : 'Chat';
    document.title = unread ? `(${unread}) ${title}` : title;
    // A list too short to scroll can't be scrolled for more: ask now, after drawing.
    if (threadIsShort() && wantsOlderHistory(state)) dispatch({ type: 'older' });
    if (conversationListNearEnd() && wantsMoreConversations(state)) dispatch({ type: 'moreConversations' });
  }

  initSignin({
    onSignIn: (values) => dispatch({ type: 'signIn', ...values }),
    onRegister: (values) => dispatch({ type: 'register', ...values }),
  });
  initAccount({
    onOpen: () => dispatch({ type: 'openAccount' }),
    onAction: (action) => ACCOUNT_ACTIONS.has(action) && dispatch({ type: action }),
    onChangePassword: (values) => dispatch({ type: 'changePassword', ...values }),
  });
  initBanner({ onRetry: () => dispatch({ type: 'retryConnection' }) });
  initSidebar({
    onSearch: (query) => dispatch({ type: 'search', query }),
    onOpen: (query) => dispatch({ type: 'openSearch', query }),
    onSignOut: () => dispatch({ type: 'signOut' }),
    onNeedMore: () => wantsMoreConversations(state) && dispatch({ type: 'moreConversations' }),
  });
  initConversation({
    rules,
    onSend(text) {
      if (state.tools.editing) {
        dispatch({ type: 'saveEdit', text });
        return !state.tools.editing;
      }
      const written = canWrite(state, text);
      dispatch({ type: 'write', text, clientId: newClientId(), ts: new Date().toISOString() });
      return written;
    },
    onTyping: () => dispatch({ type: 'typing', now: Date.now() }),
    onNeedOlder: () => wantsOlderHistory(state) && dispatch({ type: 'older' }),
    onScrolled: (atBottom) => dispatch({ type: 'scrolled', atBottom }),
    onJumpToNewest: () => dispatch({ type: 'jumpToNewest' }),
    // buttons in a message row, by their data-action (see views/conversation.js)
    onMessageAction(action, key, emoji) {
      if (MESSAGE_ACTIONS.has(action)) dispatch({ type: action, key, emoji });
    },
    // Block, Unblock, their confirmation, Cancel of an edit (data-conv)
    onConversationAction(action) {
      if (CONVERSATION_ACTIONS.has(action)) dispatch({ type: action });
    },
    // Attach, a drop or a paste: each file is held under a fresh client_id while it is sent
    onFiles(chosen) {
      const files = chosen.map((file) => {
        const clientId = newClientId();
        uploads.hold(clientId, file);
        return { clientId, name: file.name, type: file.type, size: file.size };
      });
      dispatch({ type: 'attach', files, ts: new Date().toISOString() });
    },
    onUploadAction(action, clientId) {
      if (UPLOAD_ACTIONS.has(action)) dispatch({ type: action, clientId, now: Date.now() });
    },
    onLinkBroken: (key) => dispatch({ type: 'linkBroken', key, now: Date.now() }),
    onDownload(key) {
      const now = Date.now();
      if (!linkIsStale(state, key, now)) return false; // the link as it is
      dispatch({ type: 'refreshDownload', key, now });
      return true;
    },
  });

  document.addEventListener('visibilitychange', () => {
    dispatch({ type: 'visibility', visible: document.visibilityState === 'visible' });
  });
  // Another tab signed in or out.
  window.addEventListener('storage', (event) => {
    if (event.key !== session.TOKEN && event.key !== null) return;
    dispatch({ type: 'storage', token: session.token, username: session.username });
  });

  connection.start();
  render();
}

function defaultWebsocketUrl() {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
}
