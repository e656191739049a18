// update(state, event) -> {state, effects}: frames in -> state out, intents -> frames out.

import assert from 'node:assert/strict';
import test from 'node:test';

import { createState, deliveryStatus, sortedConversations, sortedMessages } from '../../frontend/js/state.js';
import {
  CONVERSATIONS_PAGE, update, wantsMoreConversations, wantsOlderHistory,
} from '../../frontend/js/update.js';
import { frame, id, inChat, ME, run, signedIn, T0, ts, wire } from './helpers.js';

const BOB = 'bob';
const texts = (state, other) => sortedMessages(state.threads.get(other)).map((m) => m.text);

test('update never changes the state it is given', () => {
  const before = inChat(signedIn(), BOB).state;
  const copy = structuredClone(before);
  const events = [
    frame({ type: 'message', ...wire(1, BOB, ME) }),
    { type: 'write', text: 'hi', clientId: 'c1', ts: ts(2) },
    frame({ type: 'history', with: BOB, messages: [wire(0, ME, BOB)], more: false }),
    { type: 'status', status: 'offline' },
  ];
  for (const event of events) {
    const { state } = update(before, event);
    assert.notEqual(state, before);
    assert.deepEqual(before, copy, event.type);
  }
});

test('the new state is frozen, and shares what did not change', () => {
  const before = inChat(signedIn(), BOB).state;
  const { state } = update(before, frame({ type: 'presence', username: 'carl', online: true }));
  assert.throws(() => { state.phase = 'x'; }, TypeError);
  assert.throws(() => state.presence.set('eve', true));
  assert.equal(state.threads, before.threads);
  assert.notEqual(state.presence, before.presence);
  assert.equal(update(before, { type: 'no such event' }).state, before);
});

test('signing in waits for the socket, then sends the login frame', () => {
  let { state, frames } = run(createState(), { type: 'signIn', username: ME, password: 'secret pass' });
  assert.deepEqual(frames, []);
  assert.equal(state.auth.busy, 'login');
  ({ state, frames } = run(state, { type: 'status', status: 'online' }, { type: 'open' }));
  assert.deepEqual(frames, [{ action: 'login', username: ME, password: 'secret pass' }]);
  assert.equal(state.pendingAuth, null);
});

test('a sign-up that breaks the username rule never leaves the browser', () => {
  const online = run(createState(), { type: 'status', status: 'online' }).state;
  const { state, frames } = run(online, { type: 'register', username: 'bob\n', password: 'long enough' });
  assert.deepEqual(frames, []);
  assert.equal(state.auth.error, state.rules.username.message);
  assert.equal(state.auth.busy, null);
});

test('welcome saves the session and asks for the first page of conversations and the outbox', () => {
  const online = run(createState(), { type: 'status', status: 'online' }).state;
  const { state, effects, frames } = run(online, frame({ type: 'welcome', username: ME, token: 'tok' }));
  assert.equal(state.phase, 'signed-in');
  assert.equal(state.me, ME);
  assert.deepEqual(frames, [{ action: 'conversations', limit: CONVERSATIONS_PAGE }, { action: 'blocks' }]);
  assert.ok(effects.some((e) => e.type === 'session' && e.op === 'save' && e.token === 'tok'));
  assert.ok(effects.some((e) => e.type === 'outbox' && e.op === 'read' && e.username === ME));
  assert.ok(effects.some((e) => e.type === 'focus' && e.id === 'find-user'));
});

test('writing sends a frame and keeps the message pending until the ack', () => {
  const open = inChat(signedIn(), BOB).state;
  let { state, effects, frames } = run(open, { type: 'write', text: 'hello', clientId: 'c1', ts: ts(5) });
  assert.deepEqual(frames.at(-1), { action: 'send', to: BOB, text: 'hello', client_id: 'c1' });
  assert.ok(effects.some((e) => e.type === 'outbox' && e.op === 'add' && e.item.client_id === 'c1'));
  const pending = sortedMessages(state.threads.get(BOB));
  assert.deepEqual(pending.map((m) => [m.text, m.status]), [['hello', 'pending']]);
  assert.equal(state.conversations.get(BOB).last.text, 'hello');

  ({ state, effects } = run(state, frame({ type: 'ack', client_id: 'c1', id: id(7), ts: ts(7) })));
  const [m] = sortedMessages(state.threads.get(BOB));
  assert.deepEqual([m.id, m.ts, m.status], [id(7), ts(7), 'sent']);
  assert.ok(effects.some((e) => e.type === 'outbox' && e.op === 'remove' && e.clientId === 'c1'));
  assert.equal(state.conversations.get(BOB).last.id, id(7));

  // the same message again, from history or from another tab's push: still one
  ({ state } = run(
    state,
    frame({ type: 'history', with: BOB, messages: [wire(7, ME, BOB, 'hello', 'c1')], more: false }),
    frame({ type: 'message', ...wire(7, ME, BOB, 'hello', 'c1') }),
  ));
  assert.deepEqual(texts(state, BOB), ['hello']);
});

test('an ack after history already showed the message marks the pending copy sent', () => {
  const open = inChat(signedIn(), BOB).state;
  const { state } = run(
    open,
    { type: 'write', text: 'hello', clientId: 'c1', ts: ts(5) },
    frame({ type: 'history', with: BOB, messages: [wire(7, ME, BOB, 'hello', 'c1')], more: false }),
    frame({ type: 'ack', client_id: 'c1', id: id(7), ts: ts(7) }),
  );
  const all = sortedMessages(state.threads.get(BOB));
  assert.deepEqual(all.map((m) => [m.id, m.status]), [[id(7), 'sent']]);
});

test('a text over the configured limit is not written', () => {
  const open = inChat(signedIn({ rules: { ...createState().rules, maxText: 3 } }), BOB).state;
  const { state, frames } = run(open, { type: 'write', text: 'four', clientId: 'c1', ts: ts(1) });
  assert.deepEqual(frames, []);
  assert.equal(state.threads.get(BOB).messages.size, 0);
});

test('a send that failed on the way can be retried; the failure is announced', () => {
  const open = inChat(signedIn(), BOB).state;
  let { state, effects } = run(
    open,
    { type: 'write', text: 'hello', clientId: 'c1', ts: ts(1) },
    frame({ type: 'error', action: 'send', client_id: 'c1', code: 'internal' }),
  );
  const [m] = sortedMessages(state.threads.get(BOB));
  assert.deepEqual([m.status, m.final], ['failed', false]);
  assert.equal(m.error, 'Something went wrong on our side. Please try again.');
  assert.ok(effects.some((e) => e.type === 'announce'
    && e.text === `Message to ${BOB} not sent: ${m.error} You can retry it.`));
  let frames;
  ({ state, frames } = run(state, { type: 'retry', key: m.key }));
  assert.deepEqual(frames, [{ action: 'send', to: BOB, text: 'hello', client_id: 'c1' }]);
  assert.equal(sortedMessages(state.threads.get(BOB))[0].status, 'pending');
});

test('the outbox is sent again after sign-in, except what history shows is stored', () => {
  const open = inChat(signedIn(), BOB).state;
  const { state, frames, effects } = run(
    open,
    frame({ type: 'history', with: BOB, messages: [wire(3, ME, BOB, 'stored', 'c0')], more: false }),
    { type: 'outbox', items: [
      { client_id: 'c0', to: BOB, text: 'stored', ts: ts(2) },
      { client_id: 'c1', to: BOB, text: 'unsent', ts: ts(4) },
    ] },
  );
  assert.deepEqual(frames.filter((f) => f.action === 'send'), [
    { action: 'send', to: BOB, text: 'unsent', client_id: 'c1' },
  ]);
  assert.ok(effects.some((e) => e.type === 'outbox' && e.op === 'remove' && e.clientId === 'c0'));
  assert.deepEqual(texts(state, BOB), ['stored', 'unsent']);
});

test('a message from someone else: unread and announced, or read at once if their chat is open', () => {
  let { state, effects, frames } = run(signedIn(), frame({ type: 'message', ...wire(1, BOB, ME, 'hey') }));
  assert.equal(state.conversations.get(BOB).unread, 1);
  assert.equal(state.presence.get(BOB), true);
  assert.ok(effects.some((e) => e.type === 'announce' && e.text === `New message from ${BOB}: hey`));
  // a new conversation: the list is fetched again (for presence)
  assert.deepEqual(frames, [{ action: 'conversations', limit: CONVERSATIONS_PAGE }]);

  const open = inChat(signedIn(), BOB).state;
  ({ state, frames } = run(open, frame({ type: 'message', ...wire(2, BOB, ME, 'again') })));
  assert.deepEqual(frames.filter((f) => f.action === 'read'), [{ action: 'read', with: BOB, up_to: id(2) }]);
  assert.equal(state.conversations.get(BOB).unread, 0);

  // hidden tab: not read until it is shown
  const hidden = run(open, { type: 'visibility', visible: false }).state;
  ({ state, frames } = run(hidden, frame({ type: 'message', ...wire(2, BOB, ME) })));
  assert.equal(frames.filter((f) => f.action === 'read').length, 0);
  ({ frames } = run(state, { type: 'visibility', visible: true }));
  assert.deepEqual(frames, [{ action: 'read', with: BOB, up_to: id(2) }]);
});

test('history: the latest page, then older pages on request, merged in order without duplicates', () => {
  let { state, frames } = inChat(signedIn(), BOB);
  assert.deepEqual(frames, [{ action: 'history', with: BOB, limit: 50 }]);
  assert.equal(state.threads.get(BOB).loading, 'latest');
  assert.ok(!wantsOlderHistory(state));

  const latest = [3, 4, 5].map((n) => wire(n, n % 2 ? BOB : ME, n % 2 ? ME : BOB));
  ({ state } = run(state, frame({ type: 'history', with: BOB, messages: latest, more: true })));
  assert.ok(wantsOlderHistory(state));
  ({ state, frames } = run(state, { type: 'older' }));
  assert.deepEqual(frames, [{ action: 'history', with: BOB, limit: 50, before: id(3) }]);
  const older = [1, 2, 3].map((n) => wire(n, BOB, ME));
  ({ state } = run(state, frame({ type: 'history', with: BOB, messages: older, more: false })));
  assert.deepEqual(texts(state, BOB), [1, 2, 3, 4, 5].map((n) => `text ${n}`));
  const t = state.threads.get(BOB);
  assert.deepEqual([t.hasMore, t.loading, t.loaded], [false, null, true]);
  assert.ok(!wantsOlderHistory(state));
  ({ frames } = run(state, { type: 'older' }));
  assert.deepEqual(frames, []);
});

test('history: a fresh latest page that does not reach what we hold starts over from it', () => {
  let { state } = inChat(signedIn(), BOB);
  ({ state } = run(state, frame({ type: 'history', with: BOB, messages: [wire(1, BOB, ME)], more: false })));
  // reconnect: the latest page is all newer than what we hold, and there is more
  ({ state } = run(
    state,
    { type: 'status', status: 'offline' },
    { type: 'status', status: 'online' },
    frame({ type: 'welcome', username: ME, token: 'tok' }),
    frame({ type: 'history', with: BOB, messages: [wire(8, BOB, ME), wire(9, BOB, ME)], more: true }),
  ));
  assert.deepEqual(texts(state, BOB), ['text 8', 'text 9']);
  assert.equal(state.threads.get(BOB).hasMore, true);
});

test('receipts: read frames and their_read_up_to mark our messages read', () => {
  let { state } = inChat(signedIn(), BOB);
  const mine = [wire(1, ME, BOB), wire(2, ME, BOB)];
  ({ state } = run(state, frame({ type: 'history', with: BOB, messages: mine, more: false })));
  const status = (s) => sortedMessages(s.threads.get(BOB)).map((m) => deliveryStatus(s.threads.get(BOB), m));
  assert.deepEqual(status(state), ['sent', 'sent']);
  ({ state } = run(state, frame({ type: 'read', by: BOB, with: ME, up_to: id(1) })));
  assert.deepEqual(status(state), ['read', 'sent']);
  const item = { with: BOB, last: mine[1], unread: 0, online: false, their_read_up_to: id(2) };
  ({ state } = run(state, frame({ type: 'conversations', items: [item] })));
  assert.deepEqual(status(state), ['read', 'read']);
  // our own read from another tab clears the unread count
  ({ state } = run(state, frame({ type: 'message', ...wire(3, BOB, ME) })));
  ({ state } = run(state, { type: 'route', route: { name: 'home' } }));
  ({ state } = run(state, frame({ type: 'message', ...wire(4, BOB, ME) })));
  assert.equal(state.conversations.get(BOB).unread, 1);
  ({ state } = run(state, frame({ type: 'read', by: ME, with: BOB, up_to: id(4) })));
  assert.equal(state.conversations.get(BOB).unread, 0);
  assert.equal(state.threads.get(BOB).readSent, id(4));
});

const partner = (n) => ({
  with: `p${String(n).padStart(3, '0')}`, last: wire(n, `p${n}`, ME), unread: 0, online: n % 2 === 0,
});
const page = (from, to) => Array.from({ length: from - to + 1 }, (_, i) => partner(from - i)); // newest first

test('conversations paging: further pages on request, until the server says there are no more', () => {
  const online = run(createState(), { type: 'status', status: 'online' }).state;
  let { state, frames } = run(online, frame({ type: 'welcome', username: ME, token: 'tok' }));
  assert.deepEqual(frames, [{ action: 'conversations', limit: 50 }, { action: 'blocks' }]);
  assert.ok(!wantsMoreConversations(state), 'one request at a time');
  ({ state } = run(state, frame({ type: 'conversations', items: page(120, 71), more: true, next: id(71) })));
  assert.equal(state.conversations.size, 50);
  assert.ok(wantsMoreConversations(state));
  ({ state, frames } = run(state, { type: 'moreConversations' }));
  assert.deepEqual(frames, [{ action: 'conversations', limit: 50, before: id(71) }]);
  ({ frames } = run(state, { type: 'moreConversations' }));
  assert.deepEqual(frames, [], 'no second request while one is in flight');
  ({ state } = run(state, frame({ type: 'conversations', items: page(70, 21), more: true, next: id(21) })));
  ({ state } = run(state, { type: 'moreConversations' }));
  ({ state } = run(state, frame({ type: 'conversations', items: page(20, 1), more: false, next: null })));
  assert.equal(state.conversations.size, 120);
  const order = sortedConversations(state).map((c) => c.with);
  assert.deepEqual(order, page(120, 1).map((p) => p.with));
  assert.equal(state.presence.get(partner(2).with), true);
  assert.ok(!wantsMoreConversations(state));
  ({ frames } = run(state, { type: 'moreConversations' }));
  assert.deepEqual(frames, []);
});

test('conversations paging: a refetch of the first page keeps the pages loaded beyond it', () => {
  let { state } = run(
    signedIn(),
    frame({ type: 'conversations', items: page(120, 71), more: true, next: id(71) }),
    { type: 'moreConversations' },
    frame({ type: 'conversations', items: page(70, 21), more: true, next: id(21) }),
  );
  // someone new writes: the first page is asked for again, and answered
  let frames;
  ({ state, frames } = run(state, frame({ type: 'message', ...wire(200, 'newbie', ME) })));
  assert.deepEqual(frames, [{ action: 'conversations', limit: 50 }]);
  const fresh = [{ with: 'newbie', last: wire(200, 'newbie', ME), unread: 1, online: true }, ...page(120, 72)];
  ({ state } = run(state, frame({ type: 'conversations', items: fresh, more: true, next: id(72) })));
  assert.equal(state.conversations.size, 101);
  assert.equal(state.conversationsPage.next, id(21), 'the next page is still the one after what we hold');
});

test('conversations paging: a first-page request made while another is in flight is sent after it', () => {
  let { state, frames } = run(
    signedIn(),
    frame({ type: 'conversations', items: page(120, 71), more: true, next: id(71) }),
    { type: 'moreConversations' },
    frame({ type: 'message', ...wire(200, 'newbie', ME) }),
  );
  assert.deepEqual(frames.at(-1), { action: 'conversations', limit: 50, before: id(71) });
  ({ state, frames } = run(state, frame({ type: 'conversations', items: page(70, 21), more: true, next: id(21) })));
  assert.deepEqual(frames, [{ action: 'conversations', limit: 50 }]);
  assert.equal(state.conversationsPage.loading, 'first');
});

test('conversations from a server without paging: the reply is the whole list', () => {
  const { state, frames } = run(
    signedIn(),
    frame({ type: 'message', ...wire(1, 'zed', ME) }),
    frame({ type: 'conversations', items: page(60, 1) }),
    { type: 'moreConversations' },
  );
  assert.equal(state.conversations.size, 60);
  assert.ok(!state.conversations.has('zed'), 'the full list replaces what we had');
  assert.ok(!wantsMoreConversations(state));
  assert.deepEqual(frames.filter((f) => f.before), []);
});

test('a conversation known only locally (a message on its way) survives a list without it', () => {
  const open = inChat(signedIn(), 'newfriend').state;
  const { state } = run(
    open,
    { type: 'write', text: 'hi', clientId: 'c1', ts: ts(1) },
    frame({ type: 'conversations', items: [] }),
  );
  assert.ok(state.conversations.has('newfriend'));
});

test('typing: at most one frame per 3 s per person; theirs shows for 5 s', () => {
  const open = inChat(signedIn(), BOB).state;
  const { frames } = run(
    open,
    { type: 'typing', now: T0 },
    { type: 'typing', now: T0 + 1000 },
    { type: 'typing', now: T0 + 3000 },
  );
  assert.deepEqual(frames.filter((f) => f.action === 'typing').length, 2);
  const { state, effects } = run(open, { type: 'frame', frame: { type: 'typing', from: BOB }, now: T0 });
  assert.equal(state.typing.get(BOB), T0 + 5000);
  assert.ok(effects.some((e) => e.type === 'later' && e.event.type === 'tick'));
});

test('connection lost: resuming, then resume with the token when the socket is back', () => {
  const open = inChat(signedIn(), BOB).state;
  let { state, frames } = run(open, { type: 'status', status: 'offline' });
  assert.equal(state.phase, 'resuming');
  assert.equal(state.threads.get(BOB).loading, null);
  ({ state, frames } = run(state, { type: 'write', text: 'offline', clientId: 'c9', ts: ts(1) }));
  assert.deepEqual(frames, [], 'nothing goes out while offline; the outbox keeps it');
  ({ state, frames } = run(state, { type: 'status', status: 'online' }, { type: 'open' }));
  assert.deepEqual(frames, [{ action: 'resume', token: 'tok' }]);
});

test('a bad token signs out; another resume error retries later', () => {
  const resuming = run(
    createState({ session: { username: ME, token: 'old' } }),
    { type: 'status', status: 'online' },
  ).state;
  let { state, effects } = run(resuming, frame({ type: 'error', action: 'resume', code: 'internal' }));
  assert.ok(effects.some((e) => e.type === 'later' && e.event.type === 'resume'));
  ({ state, effects } = run(state, frame({ type: 'error', action: 'resume', code: 'bad_token' })));
  assert.equal(state.phase, 'signed-out');
  assert.equal(state.me, null);
  assert.match(state.auth.notice, /session has ended/, 'said on the sign-in screen, not as a form error');
  assert.equal(state.auth.error, '');
  assert.ok(effects.some((e) => e.type === 'session' && e.op === 'clear'));
  assert.ok(effects.some((e) => e.type === 'announce' && /session has ended/.test(e.text)));
  assert.ok(!effects.some((e) => e.type === 'navigate'), 'the URL stays: signing in goes on there');
});

test('sign out: logout, then bye (or the timeout) clears the account and goes home', () => {
  const open = inChat(signedIn(), BOB).state;
  let { state, effects, frames } = run(open, { type: 'signOut' });
  assert.deepEqual(frames, [{ action: 'logout' }]);
  assert.ok(effects.some((e) => e.type === 'later' && e.event.type === 'signOutTimeout'));
  ({ state, effects } = run(state, frame({ type: 'bye' })));
  assert.equal(state.phase, 'signed-out');
  assert.equal(state.threads.size, 0);
  assert.deepEqual(state.route, { name: 'home' });
  assert.ok(effects.some((e) => e.type === 'outbox' && e.op === 'clear' && e.username === ME));
  assert.ok(effects.some((e) => e.type === 'navigate' && e.path === '/'));
  // the late timeout after bye does nothing
  const late = run(state, { type: 'signOutTimeout' });
  assert.deepEqual(late.effects, []);
});

test('routes: a chat with yourself goes home; opening a chat clears the search', () => {
  let { state, effects } = run(signedIn(), { type: 'route', route: { name: 'chat', with: ME } });
  assert.deepEqual(state.route, { name: 'home' });
  assert.ok(effects.some((e) => e.type === 'navigate' && e.path === '/'));
  let frames;
  ({ state, frames } = run(state, { type: 'search', query: 'bo' }));
  assert.deepEqual(frames, [{ action: 'users', query: 'bo' }]);
  ({ state } = run(state, frame({ type: 'users', items: [{ username: BOB, online: true }] })));
  assert.deepEqual(state.search.results, [{ username: BOB, online: true }]);
  ({ state, effects } = run(state, { type: 'route', route: { name: 'chat', with: BOB } }));
  assert.equal(state.search.query, '');
  assert.ok(effects.some((e) => e.type === 'clear' && e.field === 'search'));
});
