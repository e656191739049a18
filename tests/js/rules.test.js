// The username rule, the text limit and reading /config.js with defaults.

import assert from 'node:assert/strict';
import test from 'node:test';

import { describeError } from '../../frontend/js/errors.js';
import { parseRoute } from '../../frontend/js/router.js';
import {
  checkRegistration, DEFAULT_RULES, isUsername, lengthNote, readConfig, textFits, textLength, toUsername,
} from '../../frontend/js/rules.js';

test('usernames: a full match of [a-z0-9_.-]{3,32} after lower-casing', () => {
  for (const ok of ['bob', 'a.b-c_d', '0123', 'x'.repeat(32)]) assert.ok(isUsername(ok), ok);
  for (const bad of ['bo', 'x'.repeat(33), 'bob\n', 'bob ', ' bob', 'Bob', 'bøb', 'bob!', 'b\u0131b', '']) {
    assert.ok(!isUsername(bad), JSON.stringify(bad));
  }
  assert.equal(toUsername('  BoB '), 'bob');
  assert.ok(isUsername(toUsername('BoB')));
});

test('usernames follow the pattern the config gives', () => {
  const { rules } = readConfig({ username: { pattern: '^(?:[a-z]{2})$', message: 'Two letters.' } });
  assert.ok(isUsername('ab', rules));
  assert.ok(!isUsername('abc', rules));
  assert.equal(checkRegistration('abc', 'long enough', rules), 'Two letters.');
  assert.equal(checkRegistration('ab', 'long enough', rules), '');
  assert.equal(
    describeError({ type: 'error', action: 'register', code: 'invalid' }, rules),
    'Two letters. Passwords need at least 8 characters.',
  );
  assert.deepEqual(parseRoute('/chat/abc', (n) => isUsername(n, rules)), { name: 'home' });
  assert.deepEqual(parseRoute('/chat/AB', (n) => isUsername(n, rules)), { name: 'chat', with: 'ab' });
});

test('registration checks the username first, then the password length', () => {
  assert.equal(checkRegistration('no', 'long enough'), DEFAULT_RULES.username.message);
  assert.match(checkRegistration('bob', 'short'), /at least 8 characters/);
  const { rules } = readConfig({ passwordMin: 12 });
  assert.match(checkRegistration('bob', 'eleven char', rules), /at least 12 characters/);
});

test('text length counts code points, as the server does', () => {
  assert.equal(textLength('😀😀'), 2);
  const { rules } = readConfig({ maxText: 3 });
  assert.ok(textFits('😀😀😀', rules));
  assert.ok(!textFits('abcd', rules));
});

test('config: every missing or unusable field falls back to the default', () => {
  for (const raw of [undefined, null, 'x', {}, { maxText: -1, passwordMin: 1.5, username: 'no' }]) {
    const { websocketUrl, rules } = readConfig(raw);
    assert.equal(websocketUrl, '');
    assert.deepEqual(rules, structuredClone(DEFAULT_RULES));
  }
  const broken = readConfig({ username: { pattern: '([', message: '' } }).rules;
  assert.deepEqual(broken.username, structuredClone(DEFAULT_RULES.username));
  const given = readConfig({ websocketUrl: 'wss://x/ws', maxText: 10, passwordMin: 9 });
  assert.equal(given.websocketUrl, 'wss://x/ws');
  assert.equal(given.rules.maxText, 10);
  assert.equal(given.rules.passwordMin, 9);
});

test('the length counter: silent far from the limit, then left or too many, in code points', () => {
  const rules = { ...DEFAULT_RULES, maxText: 4000 };
  assert.deepEqual(lengthNote('x'.repeat(3599), rules), { text: '', over: false });
  assert.deepEqual(lengthNote('x'.repeat(3600), rules), { text: '400 characters left', over: false });
  assert.deepEqual(lengthNote('x'.repeat(3999), rules), { text: '1 character left', over: false });
  assert.deepEqual(lengthNote('x'.repeat(4000), rules), { text: '0 characters left', over: false });
  assert.deepEqual(lengthNote('x'.repeat(4002), rules), { text: '2 characters too many', over: true });
  // an emoji outside the BMP is one character, as the server counts
  assert.deepEqual(lengthNote('😀'.repeat(4000), rules), { text: '0 characters left', over: false });
  // a small limit still warns a little ahead
  assert.deepEqual(lengthNote('abc', { ...rules, maxText: 10 }), { text: '7 characters left', over: false });
});
