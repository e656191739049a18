// Edit, delete, reactions and blocking as update() decides them: the frames sent, the
// state the views draw, and what incoming edited/deleted/reaction/blocked frames change.

import assert from 'node:assert/strict';
import test from 'node:test';

import { sortedMessages } from '../../frontend/js/state.js';
import { canWrite } from '../../frontend/js/update.js';
import { frame, id, inChat, ME, run, signedIn, wire } from './helpers.js';

const BOB = 'bob';
const announced = (effects) => effects.filter((e) => e.type === 'announce').map((e) => e.text);
const focusIds = (effects) => effects.filter((e) => e.type === 'focus').map((e) => e.id || e.view);

/** ann and bob talking: 1 is ann's, 2 is bob's. */
function talking(extra = []) {
  const open = inChat(signedIn(), BOB).state;
  return run(
    open,
    frame({ type: 'conversations', items: [{ with: BOB, last: wire(2, BOB, ME, 'theirs'), unread: 0 }] }),
    frame({
      type: 'history', with: BOB, messages: [wire(1, ME, BOB, 'mine', 'c1'), wire(2, BOB, ME, 'theirs'), ...extra],
    }),
  ).state;
}
const byText = (state, text) => sortedMessages(state.threads.get(BOB)).find((m) => m.text === text);
const byId = (state, n) => sortedMessages(state.threads.get(BOB)).find((m) => m.id === id(n));

test('Edit message puts the text in the box; Save sends edit; the edited frame shows it', () => {
  let state = talking();
  const key = byText(state, 'mine').key;
  let { effects, frames } = run(state, { type: 'edit', key });
  ({ state } = run(state, { type: 'edit', key }));
  assert.deepEqual(state.tools.editing, { key, id: id(1), text: 'mine' });
  assert.deepEqual(frames, []);
  assert.deepEqual(focusIds(effects), ['message']);
  ({ state, frames, effects } = run(state, { type: 'saveEdit', text: 'mine, better' }));
  assert.deepEqual(frames, [{ action: 'edit', id: id(1), text: 'mine, better' }]);
  assert.equal(state.tools.editing, null);
  assert.equal(byId(state, 1).text, 'mine', 'shown once the server says so');
  ({ state } = run(state, frame({ type: 'edited', id: id(1), with: BOB, text: 'mine, better', edited_at: 'T' })));
  assert.equal(byId(state, 1).text, 'mine, better');
  assert.equal(byId(state, 1).edited_at, 'T');
  assert.equal(state.conversations.get(BOB).last.text, 'theirs', 'the list keeps the newest message');
});

test('only my own, stored, undeleted messages can be edited; Cancel and unchanged text send nothing', () => {
  let state = talking();
  assert.equal(run(state, { type: 'edit', key: byText(state, 'theirs').key }).state.tools.editing, null);
  ({ state } = run(state, { type: 'edit', key: byText(state, 'mine').key }));
  const cancelled = run(state, { type: 'cancelEdit' });
  assert.equal(cancelled.state.tools.editing, null);
  assert.deepEqual(cancelled.frames, []);
  const same = run(state, { type: 'saveEdit', text: 'mine' });
  assert.deepEqual(same.frames, []);
  assert.equal(same.state.tools.editing, null);
  const empty = run(state, { type: 'saveEdit', text: '   ' });
  assert.ok(empty.state.tools.editing, 'an empty text is not saved');
});

test('an edit while offline is kept in the box and said', () => {
  let state = talking();
  ({ state } = run(state, { type: 'edit', key: byText(state, 'mine').key }, { type: 'status', status: 'offline' }));
  const { state: after, frames, effects } = run(state, { type: 'saveEdit', text: 'new' });
  assert.deepEqual(frames, []);
  assert.ok(after.tools.editing);
  assert.match(announced(effects)[0], /offline/);
});

test('the other person edits: their message changes live', () => {
  const state = run(talking(), frame({ type: 'edited', id: id(2), with: ME, text: 'theirs!', edited_at: 'T' })).state;
  assert.equal(byId(state, 2).text, 'theirs!');
  assert.equal(state.conversations.get(BOB).last.text, 'theirs!');
  assert.equal(state.conversations.get(BOB).last.edited_at, 'T');
});

test('Delete message asks first; Delete for everyone sends delete; deleted makes a tombstone', () => {
  let state = talking();
  const key = byText(state, 'mine').key;
  let frames;
  let effects;
  assert.equal(run(state, { type: 'confirmDelete', key }).frames.length, 0, 'not without asking');
  ({ state, effects } = run(state, { type: 'askDelete', key }));
  assert.equal(state.tools.deleting, key);
  assert.deepEqual(focusIds(effects), ['confirm-delete']);
  const cancelled = run(state, { type: 'cancelDelete', key });
  assert.equal(cancelled.state.tools.deleting, '');
  assert.deepEqual(cancelled.frames, []);
  ({ state, frames } = run(state, { type: 'confirmDelete', key }));
  assert.deepEqual(frames, [{ action: 'delete', id: id(1) }]);
  assert.equal(state.tools.deleting, '');
  ({ state } = run(state, frame({ type: 'deleted', id: id(1), with: BOB })));
  assert.equal(byId(state, 1).deleted, true);
  assert.equal(byId(state, 1).text, '');
  assert.equal(run(state, { type: 'edit', key }).state.tools.editing, null, 'a tombstone is not edited');
  assert.equal(run(state, { type: 'askDelete', key: byText(state, 'theirs').key }).state.tools.deleting, '');
});

test('their delete while I edit that message ends the edit; tombstones come from history too', () => {
  let state = talking();
  ({ state } = run(state, { type: 'edit', key: byText(state, 'mine').key }));
  const { state: after, effects } = run(state, frame({ type: 'deleted', id: id(1), with: BOB }));
  assert.equal(after.tools.editing, null);
  assert.match(announced(effects)[0], /deleted/);
  const reloaded = run(inChat(signedIn(), BOB).state, frame({
    type: 'history', with: BOB, messages: [{ ...wire(3, BOB, ME, ''), deleted: true }, { ...wire(4, ME, BOB, 'x'), edited_at: 'T' }],
  })).state;
  assert.equal(byId(reloaded, 3).deleted, true);
  assert.equal(byId(reloaded, 4).edited_at, 'T');
  const editingThenDelete = run(talking(), { type: 'edit', key: byText(talking(), 'mine').key });
  const both = run(editingThenDelete.state, { type: 'askDelete', key: byText(talking(), 'mine').key }).state;
  assert.equal(both.tools.editing, null, 'asking to delete ends an edit (one Cancel on the page)');
  const last = run(talking(), frame({ type: 'deleted', id: id(2), with: ME })).state.conversations.get(BOB).last;
  assert.equal(last.deleted, true);
});

test('React opens the picker; an emoji sends react on; my own again sends on: false', () => {
  let state = talking();
  const key = byText(state, 'theirs').key;
  let frames;
  let effects;
  ({ state, effects } = run(state, { type: 'pickReaction', key }));
  assert.equal(state.tools.picking, key);
  assert.deepEqual(focusIds(effects), [`pick-${key}`]);
  ({ state, frames, effects } = run(state, { type: 'react', key, emoji: '👍' }));
  assert.deepEqual(frames, [{ action: 'react', id: id(2), emoji: '👍', on: true }]);
  assert.equal(state.tools.picking, '');
  assert.deepEqual(focusIds(effects), [`tools-${key}`]);
  ({ state } = run(state, frame({ type: 'reaction', id: id(2), with: BOB, by: ME, emoji: '👍', on: true })));
  assert.deepEqual(byId(state, 2).reactions, { '👍': [ME] });
  ({ frames } = run(state, { type: 'react', key, emoji: '👍' }));
  assert.deepEqual(frames, [{ action: 'react', id: id(2), emoji: '👍', on: false }]);
  assert.deepEqual(run(state, { type: 'react', key, emoji: '🤖' }).frames, [], 'not on the list');
  const closed = run(state, { type: 'pickReaction', key }, { type: 'closePicker', key });
  assert.equal(closed.state.tools.picking, '');
});

test('reaction frames: one per person, replaced, removed; history brings them back', () => {
  let state = talking();
  ({ state } = run(
    state,
    frame({ type: 'reaction', id: id(1), with: ME, by: BOB, emoji: '😂', on: true }),
    frame({ type: 'reaction', id: id(1), with: BOB, by: ME, emoji: '😂', on: true }),
  ));
  assert.deepEqual(byId(state, 1).reactions, { '😂': [BOB, ME] });
  ({ state } = run(state, frame({ type: 'reaction', id: id(1), with: ME, by: BOB, emoji: '❤️', on: true })));
  assert.deepEqual(byId(state, 1).reactions, { '😂': [ME], '❤️': [BOB] });
  ({ state } = run(state, frame({ type: 'reaction', id: id(1), with: BOB, by: ME, emoji: '😂', on: false })));
  assert.deepEqual(byId(state, 1).reactions, { '❤️': [BOB] });
  const reloaded = run(inChat(signedIn(), BOB).state, frame({
    type: 'history', with: BOB, messages: [{ ...wire(5, BOB, ME, 'r'), reactions: { '👍': [ME] } }],
  })).state;
  assert.deepEqual(byId(reloaded, 5).reactions, { '👍': [ME] });
  const unknown = run(state, frame({ type: 'reaction', id: id(99), with: ME, by: BOB, emoji: '👍', on: true }));
  assert.equal(unknown.state, state, 'an unknown message changes nothing');
});

test('Block asks first; confirming sends block; blocked hides the box; Unblock sends unblock', () => {
  let state = talking();
  let frames;
  let effects;
  assert.deepEqual(run(state, { type: 'confirmBlock' }).frames, [], 'not without asking');
  ({ state, effects } = run(state, { type: 'askBlock' }));
  assert.equal(state.tools.blocking, BOB);
  assert.deepEqual(focusIds(effects), ['confirm-block']);
  const cancelled = run(state, { type: 'cancelBlock' });
  assert.equal(cancelled.state.tools.blocking, '');
  assert.deepEqual(focusIds(cancelled.effects), ['block-button']);
  ({ state, frames } = run(state, { type: 'confirmBlock' }));
  assert.deepEqual(frames, [{ action: 'block', username: BOB }]);
  ({ state, effects } = run(state, frame({ type: 'blocked', username: BOB })));
  assert.ok(state.blocked.has(BOB));
  assert.deepEqual(announced(effects), [`You blocked ${BOB}.`]);
  assert.equal(canWrite(state, 'hi'), false, 'no message box while blocked');
  assert.deepEqual(run(state, { type: 'askBlock' }).state.tools.blocking, '', 'blocked already');
  ({ frames } = run(state, { type: 'unblock' }));
  assert.deepEqual(frames, [{ action: 'unblock', username: BOB }]);
  ({ state } = run(state, frame({ type: 'unblocked', username: BOB })));
  assert.ok(!state.blocked.has(BOB));
  assert.equal(canWrite(state, 'hi'), true);
});

test('who is blocked comes back from blocks and conversations after a reload', () => {
  let state = signedIn();
  ({ state } = run(state, frame({ type: 'blocks', items: [BOB, 'eve'] })));
  assert.deepEqual([...state.blocked.keys()], [BOB, 'eve']);
  ({ state } = run(state, frame({
    type: 'conversations', items: [{ with: 'eve', last: wire(1, ME, 'eve'), unread: 0 }, { with: 'carl', last: wire(2, ME, 'carl'), unread: 0, blocked: true }],
  })));
  assert.ok(state.blocked.has('carl'));
  assert.ok(!state.blocked.has('eve'), 'the list says eve is not blocked any more');
});

test('errors of edit, delete, react and block are announced; leaving the chat closes the tools', () => {
  let state = talking();
  const { effects } = run(state, frame({ type: 'error', code: 'forbidden', message: 'no', action: 'edit' }));
  assert.equal(announced(effects).length, 1);
  assert.match(announced(effects)[0], /^Could not edit the message/);
  ({ state } = run(state, { type: 'pickReaction', key: byText(state, 'mine').key }));
  ({ state } = run(state, { type: 'route', route: { name: 'home' } }));
  assert.equal(state.tools.picking, '');
});

test('links: http(s) URLs only, trailing punctuation outside, javascript: stays text', async () => {
  const { linkParts } = await import('../../frontend/js/format.js');
  assert.deepEqual(linkParts('see https://example.org/a?b=1. ok'), [
    { text: 'see ' }, { text: 'https://example.org/a?b=1', href: 'https://example.org/a?b=1' }, { text: '. ok' },
  ]);
  assert.deepEqual(linkParts('javascript:alert(1) and JAVASCRIPT://x'), [{ text: 'javascript:alert(1) and JAVASCRIPT://x' }]);
  assert.deepEqual(linkParts('(http://x.test/p)'), [{ text: '(' }, { text: 'http://x.test/p', href: 'http://x.test/p' }, { text: ')' }]);
  assert.deepEqual(linkParts('ftp://x.test data:text/html,hi'), [{ text: 'ftp://x.test data:text/html,hi' }]);
  assert.deepEqual(linkParts(''), []);
});
