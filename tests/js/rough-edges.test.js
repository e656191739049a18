// The conversation view's rough edges, as update() decides them: final and transient send
// failures, /chat/<nobody>, Enter in Find user, the unread divider, "New messages", focus.

import assert from 'node:assert/strict';
import test from 'node:test';

import { createState, isMissing, sortedMessages } from '../../frontend/js/state.js';
import { canWrite } from '../../frontend/js/update.js';
import { frame, id, inChat, ME, run, signedIn, ts, wire } from './helpers.js';

const BOB = 'bob';
const announced = (effects) => effects.filter((e) => e.type === 'announce').map((e) => e.text);
const focusOf = (effects) => effects.filter((e) => e.type === 'focus');
const navigations = (effects) => effects.filter((e) => e.type === 'navigate').map((e) => e.path);

for (const code of ['no_such_user', 'invalid', 'too_large']) {
  test(`a send refused with ${code} is final: no retry, it can be dismissed`, () => {
    const open = inChat(signedIn(), BOB).state;
    let { state, effects, frames } = run(
      open,
      { type: 'write', text: 'hello', clientId: 'c1', ts: ts(1) },
      frame({ type: 'error', action: 'send', client_id: 'c1', code }),
    );
    const [m] = sortedMessages(state.threads.get(BOB));
    assert.deepEqual([m.status, m.final], ['failed', true]);
    assert.ok(effects.some((e) => e.type === 'outbox' && e.op === 'remove' && e.clientId === 'c1'));
    assert.deepEqual(announced(effects), [`Message to ${BOB} not sent: ${m.error} You can dismiss it.`]);
    ({ state, frames } = run(state, { type: 'retry', key: m.key }));
    assert.deepEqual(frames, []);
    assert.equal(sortedMessages(state.threads.get(BOB))[0].status, 'failed');
    ({ state } = run(state, { type: 'dismiss', key: m.key }));
    assert.equal(state.threads.get(BOB).messages.size, 0);
    assert.ok(!state.conversations.has(BOB), 'a conversation of only that message is gone');
  });
}

test('dismissing a failed message puts the previous one back as the conversation\'s last', () => {
  const open = inChat(signedIn(), BOB).state;
  const { state } = run(
    open,
    frame({ type: 'history', with: BOB, messages: [wire(1, BOB, ME, 'before')], more: false }),
    { type: 'write', text: 'oops', clientId: 'c1', ts: ts(2) },
    frame({ type: 'error', action: 'send', client_id: 'c1', code: 'invalid' }),
    { type: 'dismiss', key: `${ME}/c1` },
  );
  assert.equal(state.conversations.get(BOB).last.text, 'before');
});

test('a send refused as unauthenticated stays pending and the session is resumed', () => {
  const open = inChat(signedIn(), BOB).state;
  const { state, effects, frames } = run(
    open,
    { type: 'write', text: 'hello', clientId: 'c1', ts: ts(1) },
    frame({ type: 'error', action: 'send', client_id: 'c1', code: 'unauthenticated' }),
  );
  assert.equal(sortedMessages(state.threads.get(BOB))[0].status, 'pending');
  assert.ok(!effects.some((e) => e.type === 'outbox' && e.op === 'remove'));
  assert.deepEqual(frames.at(-1), { action: 'resume', token: 'tok' });
});

test('/chat/<nobody>: an empty history asks whether the name exists; no means no writing', () => {
  let { state, frames, effects } = inChat(signedIn(), 'nobody');
  ({ state, frames } = run(state, frame({ type: 'history', with: 'nobody', messages: [], more: false })));
  assert.deepEqual(frames, [{ action: 'users', query: 'nobody' }]);
  ({ state, effects } = run(state, frame({ type: 'users', items: [{ username: 'nobody2', online: false }] })));
  assert.ok(isMissing(state, 'nobody'));
  assert.ok(!canWrite(state, 'hi'));
  assert.deepEqual(announced(effects), ['There is no one with the username nobody.']);
  assert.deepEqual(focusOf(effects), [{ type: 'focus', view: 'conversation' }]);
  assert.equal(state.search.results, null, 'the answer is not taken for a search');
});

test('/chat/<somebody> with no messages yet: the name exists, writing is fine', () => {
  let { state } = inChat(signedIn(), 'newfriend');
  ({ state } = run(
    state,
    frame({ type: 'history', with: 'newfriend', messages: [], more: false }),
    frame({ type: 'users', items: [{ username: 'newfriend', online: true }] }),
  ));
  assert.ok(!isMissing(state, 'newfriend'));
  assert.ok(canWrite(state, 'hi'));
  assert.equal(state.presence.get('newfriend'), true);
});

test('users replies answer their requests in order: a search and an existence check', () => {
  let { state } = inChat(signedIn(), 'ghost');
  ({ state } = run(
    state,
    frame({ type: 'history', with: 'ghost', messages: [], more: false }),
    { type: 'search', query: 'bo' },
    frame({ type: 'users', items: [] }), // answers 'ghost'
    frame({ type: 'users', items: [{ username: 'bob', online: true }] }), // answers 'bo'
  ));
  assert.ok(isMissing(state, 'ghost'));
  assert.deepEqual(state.search.results.map((r) => r.username), ['bob']);
});

test('a users reply that does not fit its request decides nothing', () => {
  let { state } = inChat(signedIn(), 'ghost');
  ({ state } = run(
    state,
    frame({ type: 'history', with: 'ghost', messages: [], more: false }),
    frame({ type: 'users', items: [{ username: 'bob', online: true }] }), // a search's, overtaking
  ));
  assert.ok(!isMissing(state, 'ghost'));
  assert.ok(canWrite(state, 'hi'));
});

test('a send to a name that does not exist marks it missing', () => {
  const { state } = run(
    inChat(signedIn(), BOB).state,
    { type: 'write', text: 'hello', clientId: 'c1', ts: ts(1) },
    frame({ type: 'error', action: 'send', client_id: 'c1', code: 'no_such_user' }),
  );
  assert.ok(isMissing(state, BOB));
});

test('Enter in Find user opens the exact match, else the first found, else the typed name', () => {
  const base = signedIn();
  let { state, effects } = run(base, { type: 'search', query: 'bo' },
    frame({ type: 'users', items: [{ username: 'boa' }, { username: 'bo' }] }));
  ({ effects } = run(state, { type: 'openSearch', query: 'bo' }));
  assert.deepEqual(navigations(effects), ['/chat/bo']);
  ({ state } = run(base, { type: 'search', query: 'bo' }, frame({ type: 'users', items: [{ username: 'bob' }] })));
  assert.deepEqual(navigations(run(state, { type: 'openSearch', query: 'bo' }).effects), ['/chat/bob']);
  // the answer has not come yet (or the box changed since): the name typed
  assert.deepEqual(navigations(run(base, { type: 'openSearch', query: 'carl' }).effects), ['/chat/carl']);
  // found no one, not a username, or yourself: nothing opens
  ({ state } = run(base, { type: 'search', query: 'zed' }, frame({ type: 'users', items: [] })));
  assert.deepEqual(navigations(run(state, { type: 'openSearch', query: 'zed' }).effects), []);
  assert.deepEqual(navigations(run(base, { type: 'openSearch', query: 'a b' }).effects), []);
  assert.deepEqual(navigations(run(base, { type: 'openSearch', query: ME }).effects), []);
});

function withUnread(count, total) {
  const history = Array.from({ length: total }, (_, i) => wire(i + 1, BOB, ME));
  const home = run(signedIn(), frame({
    type: 'conversations', items: [{ with: BOB, last: history.at(-1), unread: count, online: true }],
  })).state;
  return { home, history };
}

test('opening a conversation with unread messages marks the first unread', () => {
  const { home, history } = withUnread(3, 10);
  let { state } = inChat(home, BOB);
  ({ state } = run(state, frame({ type: 'history', with: BOB, messages: history, more: false })));
  assert.deepEqual(state.threads.get(BOB).unreadMark, { count: 3, firstId: id(8) });
  assert.equal(state.conversations.get(BOB).unread, 0);
  // leaving the conversation forgets the divider; coming back without unread shows none
  ({ state } = run(state, { type: 'route', route: { name: 'home' } }, { type: 'route', route: { name: 'chat', with: BOB } }));
  assert.equal(state.threads.get(BOB).unreadMark, null);
});

test('more unread than a page: older pages are fetched until the first unread is held', () => {
  const { home, history } = withUnread(120, 150);
  let { state, frames } = inChat(home, BOB);
  ({ state, frames } = run(state, frame({ type: 'history', with: BOB, messages: history.slice(100), more: true })));
  assert.deepEqual(frames.filter((f) => f.action === 'history'), [{ action: 'history', with: BOB, limit: 50, before: id(101) }]);
  ({ state, frames } = run(state, frame({ type: 'history', with: BOB, messages: history.slice(50, 100), more: true })));
  assert.deepEqual(frames.filter((f) => f.action === 'history'), [{ action: 'history', with: BOB, limit: 50, before: id(51) }]);
  ({ state, frames } = run(state, frame({ type: 'history', with: BOB, messages: history.slice(0, 50), more: false })));
  assert.deepEqual(frames.filter((f) => f.action === 'history'), []);
  assert.equal(state.threads.get(BOB).unreadMark.firstId, id(31));
});

test('"New messages": a message arriving while scrolled up, cleared at the bottom or on the button', () => {
  let { state, effects } = inChat(signedIn(), BOB);
  ({ state } = run(state, { type: 'scrolled', atBottom: false }, frame({ type: 'message', ...wire(1, BOB, ME) })));
  assert.equal(state.scroll.newBelow, true);
  ({ state, effects } = run(state, { type: 'jumpToNewest' }));
  assert.equal(state.scroll.newBelow, false);
  assert.deepEqual(effects, [{ type: 'scroll', to: 'newest' }]);
  ({ state } = run(state, frame({ type: 'message', ...wire(2, BOB, ME) })));
  assert.equal(state.scroll.newBelow, true);
  ({ state } = run(state, { type: 'scrolled', atBottom: true }));
  assert.equal(state.scroll.newBelow, false);
  // at the bottom, a new message needs no button; another conversation's neither
  ({ state } = run(state, frame({ type: 'message', ...wire(3, BOB, ME) }), { type: 'scrolled', atBottom: false },
    frame({ type: 'message', ...wire(4, 'carl', ME) })));
  assert.equal(state.scroll.newBelow, false);
});

test('focus moves with every view change and after sign-in, not on a reconnect', () => {
  let { state, effects } = inChat(signedIn(), BOB);
  assert.deepEqual(focusOf(effects), [{ type: 'focus', view: 'conversation' }]);
  ({ state, effects } = run(state, { type: 'route', route: { name: 'home' } }));
  assert.deepEqual(focusOf(effects), [{ type: 'focus', view: 'list', with: BOB }]);
  ({ effects } = run(state, { type: 'route', route: { name: 'home' } }));
  assert.deepEqual(focusOf(effects), [], 'the same view: focus stays');
  // signing in on /chat/bob lands in the conversation; a later welcome (reconnect) moves nothing
  const start = createState({ route: { name: 'chat', with: BOB } });
  ({ state, effects } = run(start, { type: 'status', status: 'online' }, { type: 'signIn', username: ME, password: 'pw pw pw pw' },
    frame({ type: 'welcome', username: ME, token: 'tok' })));
  assert.deepEqual(focusOf(effects), [{ type: 'focus', view: 'conversation' }]);
  ({ effects } = run(state, { type: 'status', status: 'offline' }, { type: 'status', status: 'online' },
    frame({ type: 'welcome', username: ME, token: 'tok' })));
  assert.deepEqual(focusOf(effects), []);
});

test('a text over the limit is announced with how much too long it is', () => {
  const open = inChat(signedIn({ rules: { ...createState().rules, maxText: 3 } }), BOB).state;
  const { effects } = run(open, { type: 'write', text: 'five!', clientId: 'c1', ts: ts(1) });
  assert.deepEqual(announced(effects), ['Not sent: the message is 2 characters too long.']);
});
