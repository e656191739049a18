// Sessions that end (issue 11): the Account dialog (change password, sign out everywhere),
// a bye this device did not ask for, a revoked token, and rate limits in plain words.

import assert from 'node:assert/strict';
import test from 'node:test';

import { BYE_WORDS, describeError, waitWords } from '../../frontend/js/errors.js';
import { createState } from '../../frontend/js/state.js';
import { update } from '../../frontend/js/update.js';
import { frame, inChat, ME, run, signedIn, T0, ts } from './helpers.js';

const BOB = 'bob';
const OLD = 'correct horse battery';
const NEW = 'battery staple horse';
const has = (effects, wanted) => effects.some((e) => Object.entries(wanted).every(([k, v]) => e[k] === v));
const withAccount = () => run(signedIn(), { type: 'openAccount' }).state;

test('waits in plain words, rounded up', () => {
  assert.equal(waitWords(1), '1 second');
  assert.equal(waitWords(59), '59 seconds');
  assert.equal(waitWords(60), '1 minute');
  assert.equal(waitWords(61), '2 minutes');
  assert.equal(waitWords(899), '15 minutes');
  assert.equal(waitWords(3600), '1 hour');
  assert.equal(waitWords(3601), '2 hours');
  assert.equal(waitWords(0), '1 second');
  assert.equal(waitWords(undefined), '1 second');
});

test('rate_limited says how long to wait, from retry_after', () => {
  const limited = (action, extra = {}) => describeError({ code: 'rate_limited', action, ...extra });
  assert.equal(limited('login', { retry_after: 120 }), 'Too many attempts. Try again in 2 minutes.');
  assert.equal(limited('register', { retry_after: 3000 }), 'Too many attempts. Try again in 50 minutes.');
  assert.equal(limited('change_password', { retry_after: 5 }), 'Too many attempts. Try again in 5 seconds.');
  assert.equal(limited('send', { retry_after: 1 }), 'Too many messages at once. Try again in 1 second.');
  assert.equal(limited('login'), 'Too many attempts. Please wait a little and try again.');
  assert.equal(limited('login', { retry_after: 'soon' }), 'Too many attempts. Please wait a little and try again.');
});

test('a rate-limited sign-in or sign-up shows the wait on the form', () => {
  for (const action of ['login', 'register']) {
    const online = run(createState(), { type: 'status', status: 'online' }).state;
    const intent = action === 'login' ? 'signIn' : 'register';
    let { state } = run(online, { type: intent, username: ME, password: OLD });
    assert.equal(state.auth.busy, action);
    ({ state } = run(state, frame({ type: 'error', action, code: 'rate_limited', retry_after: 840 })));
    assert.deepEqual(state.auth, { busy: null, error: 'Too many attempts. Try again in 14 minutes.', notice: '' });
  }
});

test('the Account dialog opens and closes, focus going in and coming back', () => {
  let { state, effects } = run(signedIn(), { type: 'openAccount' });
  assert.equal(state.account.open, true);
  assert.ok(has(effects, { type: 'dialog', op: 'open' }));
  assert.ok(has(effects, { type: 'focus', id: 'current-password' }));
  ({ state, effects } = run(state, { type: 'closeAccount' }));
  assert.equal(state.account.open, false);
  assert.ok(has(effects, { type: 'dialog', op: 'close' }));
  assert.ok(has(effects, { type: 'clear', field: 'account' }));
  assert.ok(has(effects, { type: 'focus', id: 'account-button' }));
  assert.deepEqual(run(state, { type: 'closeAccount' }).effects, [], 'closing a closed dialog does nothing');
  assert.deepEqual(run(createState(), { type: 'openAccount' }).effects, [], 'not while signed out');
});

test('change password: the sign-up rule and plain checks before anything is sent', () => {
  const open = withAccount();
  const cases = [
    [{ password: '', newPassword: NEW }, 'current', 'Enter your current password.', 'current-password'],
    [{ password: OLD, newPassword: 'short' }, 'new', 'Choose a new password of at least 8 characters.', 'new-password'],
    [{ password: OLD, newPassword: OLD }, 'new', 'The new password is the same as the current one. Choose another.', 'new-password'],
  ];
  for (const [values, field, error, focus] of cases) {
    const { state, frames, effects } = run(open, { type: 'changePassword', ...values });
    assert.deepEqual(frames, []);
    assert.equal(state.account.error, error);
    assert.equal(state.account.field, field);
    assert.equal(state.account.busy, null);
    assert.ok(has(effects, { type: 'focus', id: focus }));
  }
  const strict = createState({ rules: { ...open.rules, passwordMin: 12 } });
  const longer = run(run(strict, { type: 'status', status: 'online' }).state,
    frame({ type: 'welcome', username: ME, token: 'tok' }), { type: 'openAccount' }).state;
  const { state } = run(longer, { type: 'changePassword', password: OLD, newPassword: 'eleven char' });
  assert.equal(state.account.error, 'Choose a new password of at least 12 characters.');
});

test('change password: sent, then password_changed: this device stays signed in, success announced', () => {
  let { state, frames, effects } = run(withAccount(), { type: 'changePassword', password: OLD, newPassword: NEW });
  assert.deepEqual(frames, [{ action: 'change_password', password: OLD, new_password: NEW }]);
  assert.equal(state.account.busy, 'password');
  assert.deepEqual(run(state, { type: 'changePassword', password: OLD, newPassword: NEW }).frames, [], 'one at a time');
  ({ state, effects } = run(state, frame({ type: 'password_changed' })));
  assert.equal(state.phase, 'signed-in');
  assert.equal(state.token, 'tok');
  assert.equal(state.account.open, true);
  assert.equal(state.account.busy, null);
  assert.equal(state.account.error, '');
  assert.equal(state.account.done, 'Password changed. Your other devices were signed out.');
  assert.ok(has(effects, { type: 'clear', field: 'account' }));
  assert.ok(!effects.some((e) => e.type === 'announce'), 'the dialog\'s status line says it (outside is inert)');
  assert.ok(!effects.some((e) => e.type === 'session'), 'the stored session stays');
});

test('password_changed after the dialog was closed is still said', () => {
  const busy = run(withAccount(), { type: 'changePassword', password: OLD, newPassword: NEW }).state;
  const closed = run(busy, { type: 'closeAccount' }).state;
  const { state, effects } = run(closed, frame({ type: 'password_changed' }));
  assert.equal(state.account.open, false);
  assert.equal(state.account.done, '');
  assert.ok(effects.some((e) => e.type === 'announce' && /Password changed/.test(e.text)));
  assert.ok(!has(effects, { type: 'dialog', op: 'open' }));
});

test('change password: a wrong current password, a rate limit and the rule in plain words', () => {
  const busy = run(withAccount(), { type: 'changePassword', password: 'wrong one', newPassword: NEW }).state;
  let { state, effects } = run(busy, frame({ type: 'error', action: 'change_password', code: 'bad_credentials' }));
  assert.equal(state.account.error, 'Your current password is not right.');
  assert.equal(state.account.field, 'current');
  assert.equal(state.account.busy, null);
  assert.equal(state.phase, 'signed-in', 'a wrong password signs nobody out');
  assert.ok(has(effects, { type: 'focus', id: 'current-password' }));

  ({ state } = run(busy, frame({ type: 'error', action: 'change_password', code: 'rate_limited', retry_after: 600 })));
  assert.equal(state.account.error, 'Too many attempts. Try again in 10 minutes.');
  assert.equal(state.account.field, '');

  ({ state } = run(busy, frame({ type: 'error', action: 'change_password', code: 'invalid' })));
  assert.equal(state.account.error, 'Choose a new password of at least 8 characters.');
  assert.equal(state.account.field, 'new');
});

test('change password offline, or the connection drops while it is asked', () => {
  const offline = run(withAccount(), { type: 'status', status: 'offline' }).state;
  let { state, frames } = run(offline, { type: 'changePassword', password: OLD, newPassword: NEW });
  assert.deepEqual(frames, []);
  assert.match(state.account.error, /offline/);
  const busy = run(withAccount(), { type: 'changePassword', password: OLD, newPassword: NEW }).state;
  ({ state } = run(busy, { type: 'status', status: 'offline' }));
  assert.equal(state.account.busy, null);
  assert.equal(state.account.error, 'The connection dropped. Please try again.');
});

test('sign out everywhere asks first; Cancel goes back; Yes sends logout_all, and its bye signs out here', () => {
  let { state, effects, frames } = run(withAccount(), { type: 'askSignOutEverywhere' });
  assert.equal(state.account.confirming, true);
  assert.deepEqual(frames, []);
  assert.ok(has(effects, { type: 'focus', id: 'signout-all-cancel' }), 'the safe choice first');
  ({ state, effects } = run(state, { type: 'cancelSignOutEverywhere' }));
  assert.equal(state.account.confirming, false);
  assert.ok(has(effects, { type: 'focus', id: 'signout-all-button' }));
  assert.deepEqual(run(state, { type: 'signOutEverywhere' }).frames, [], 'only once confirmed');

  ({ state, frames } = run(state, { type: 'askSignOutEverywhere' }, { type: 'signOutEverywhere' }));
  assert.deepEqual(frames, [{ action: 'logout_all' }]);
  assert.equal(state.account.busy, 'everywhere');
  assert.equal(state.phase, 'signed-in', 'signed in until the bye');
  ({ state, effects } = run(state, frame({ type: 'bye', reason: 'signed_out_everywhere' })));
  assert.equal(state.phase, 'signed-out');
  assert.equal(state.me, null);
  assert.equal(state.account.open, false);
  assert.equal(state.auth.notice, 'You signed out on all your devices.');
  assert.ok(has(effects, { type: 'dialog', op: 'close' }));
  assert.ok(has(effects, { type: 'session', op: 'clear' }));
  assert.ok(has(effects, { type: 'outbox', op: 'clear', username: ME }));
  assert.ok(has(effects, { type: 'announce', text: 'You signed out on all your devices.' }));
});

test('sign out everywhere offline or refused: nothing ends, and the dialog says why', () => {
  const asking = run(withAccount(), { type: 'askSignOutEverywhere' }).state;
  const offline = run(asking, { type: 'status', status: 'offline' }).state;
  let { state, frames } = run(offline, { type: 'signOutEverywhere' });
  assert.deepEqual(frames, []);
  assert.equal(state.phase, 'resuming');
  assert.match(state.account.everywhereError, /offline/);
  assert.equal(state.account.confirming, false);

  const sent = run(asking, { type: 'signOutEverywhere' }).state;
  ({ state } = run(sent, frame({ type: 'error', action: 'logout_all', code: 'internal' })));
  assert.equal(state.phase, 'signed-in');
  assert.equal(state.signingOut, false);
  assert.equal(state.account.busy, null);
  assert.match(state.account.everywhereError, /^Could not sign out everywhere\./);

  ({ state } = run(sent, { type: 'status', status: 'offline' }));
  assert.equal(state.signingOut, false);
  assert.match(state.account.everywhereError, /connection dropped/);
});

test('a bye this device did not ask for signs out here and says why', () => {
  const cases = {
    password_changed: 'Your password was changed on another device. Sign in again.',
    signed_out_everywhere: 'You were signed out on all your devices. Sign in again.',
    signed_out: 'This session was signed out on another device. Sign in again.',
    something_new: BYE_WORDS.other,
  };
  for (const [reason, words] of Object.entries(cases)) {
    const open = inChat(withAccount(), BOB).state;
    const { state, effects } = run(open, frame({ type: 'bye', reason }));
    assert.equal(state.phase, 'signed-out', reason);
    assert.equal(state.token, null);
    assert.equal(state.threads.size, 0);
    assert.deepEqual(state.route, { name: 'home' });
    assert.equal(state.auth.notice, words);
    assert.equal(state.auth.error, '');
    assert.ok(has(effects, { type: 'session', op: 'clear' }));
    assert.ok(has(effects, { type: 'outbox', op: 'clear', username: ME }));
    assert.ok(has(effects, { type: 'announce', text: words }));
    assert.ok(has(effects, { type: 'dialog', op: 'close' }), 'an open Account dialog goes');
  }
  const { state } = run(signedIn(), frame({ type: 'bye' }));
  assert.equal(state.auth.notice, BYE_WORDS.other, 'a bye without a reason');
});

test('our own sign-out says nothing; a late bye after signing out changes nothing', () => {
  let { state, effects } = run(signedIn(), { type: 'signOut' }, frame({ type: 'bye', reason: 'signed_out' }));
  assert.equal(state.phase, 'signed-out');
  assert.equal(state.auth.notice, '');
  assert.ok(!effects.some((e) => e.type === 'announce'));
  ({ state } = run(signedIn(), { type: 'signOut' }, { type: 'signOutTimeout' }));
  ({ effects } = run(state, frame({ type: 'bye', reason: 'signed_out' })));
  assert.deepEqual(effects, []);
});

test('the notice stays until the person signs in again', () => {
  let { state } = run(signedIn(), frame({ type: 'bye', reason: 'password_changed' }));
  ({ state } = run(state, { type: 'signIn', username: ME, password: NEW }));
  assert.equal(state.auth.notice, '');
  ({ state } = run(state, frame({ type: 'welcome', username: ME, token: 'tok2' })));
  assert.equal(state.phase, 'signed-in');
  assert.equal(state.auth.notice, '');
});

test('a rate-limited resume waits as long as the server says', () => {
  const resuming = run(createState({ session: { username: ME, token: 'tok' } }), { type: 'status', status: 'online' }).state;
  const { effects } = run(resuming, frame({ type: 'error', action: 'resume', code: 'rate_limited', retry_after: 40 }));
  const later = effects.find((e) => e.type === 'later');
  assert.equal(later.ms, 40_000);
  assert.equal(later.event.type, 'resume');
});

test('a rate-limited send is not final: Retry comes back after the wait', () => {
  const chat = inChat(signedIn(), BOB).state;
  let { state, effects, frames } = run(
    chat,
    { type: 'write', text: 'quick', clientId: 'c1', ts: ts(1) },
    { type: 'frame', frame: { type: 'error', action: 'send', code: 'rate_limited', client_id: 'c1', retry_after: 7 }, now: T0 },
  );
  const m = state.threads.get(BOB).messages.get(`${ME}/c1`);
  assert.equal(m.status, 'failed');
  assert.equal(m.final, false);
  assert.equal(m.error, 'Too many messages at once. Try again in 7 seconds.');
  assert.equal(m.waitUntil, T0 + 7000);
  const later = effects.find((e) => e.type === 'later');
  assert.deepEqual(later, { type: 'later', ms: 7000, event: { type: 'waitOver', key: `${ME}/c1` } });
  assert.ok(effects.some((e) => e.type === 'announce'
    && e.text === `Message to ${BOB} not sent: Too many messages at once. Try again in 7 seconds. You can retry it then.`));

  ({ frames } = run(state, { type: 'retry', key: `${ME}/c1` }));
  assert.deepEqual(frames, [], 'not before the wait is over');

  ({ state, effects } = run(state, { type: 'waitOver', key: `${ME}/c1` }));
  assert.equal(state.threads.get(BOB).messages.get(`${ME}/c1`).waitUntil, 0);
  assert.ok(has(effects, { type: 'announce', text: `You can retry your message to ${BOB} now.` }));
  ({ state, frames } = run(state, { type: 'retry', key: `${ME}/c1` }));
  assert.deepEqual(frames, [{ action: 'send', to: BOB, text: 'quick', client_id: 'c1' }]);
  ({ state } = run(state, frame({ type: 'ack', client_id: 'c1', id: 'm000009', ts: ts(9) })));
  assert.equal(state.threads.get(BOB).messages.get(`${ME}/c1`).status, 'sent');
});

test('update never changes the state it is given, for the new events too', () => {
  const before = withAccount();
  const copy = structuredClone(before);
  const events = [
    { type: 'changePassword', password: OLD, newPassword: NEW },
    { type: 'askSignOutEverywhere' },
    { type: 'closeAccount' },
    frame({ type: 'password_changed' }),
    frame({ type: 'bye', reason: 'password_changed' }),
    { type: 'waitOver', key: 'x' },
  ];
  for (const event of events) {
    update(before, event);
    assert.deepEqual(before, copy, event.type);
  }
});
