// Attachments as update() decides them: files checked before anything leaves the browser,
// `upload` replies matched by client_id, the POST's progress, Cancel and Retry, uploads
// queued offline sent once after the reconnect, the message that carries the file, server
// errors in words, expired links refreshed at most once a minute.

import assert from 'node:assert/strict';
import test from 'node:test';

import { readConfig } from '../../frontend/js/rules.js';
import { previewText, sortedMessages } from '../../frontend/js/state.js';
import { LINK_FRESH_MS, LINK_REFRESH_MS, linkIsStale, POST_MARGIN_MS } from '../../frontend/js/update.js';
import { frame, id, inChat, ME, run, signedIn, T0, ts, wire } from './helpers.js';

const BOB = 'bob';
const MB = 1024 * 1024;
const announced = (effects) => effects.filter((e) => e.type === 'announce').map((e) => e.text);
const uploadOps = (effects, op) => effects.filter((e) => e.type === 'upload' && (!op || e.op === op));
const uploadFrames = (frames) => frames.filter((f) => f.action === 'upload');
const sendFrames = (frames) => frames.filter((f) => f.action === 'send');

/** Signed in as ME (online) with the conversation with bob open. */
function open(options = {}) {
  return inChat(signedIn(options), BOB).state;
}

const photo = (clientId, size = 2 * MB, name = 'cat.png') => ({ clientId, name, type: 'image/png', size });
const pdf = (clientId, size = 200 * 1024, name = 'report.pdf') => ({ clientId, name, type: 'application/pdf', size });
const attach = (...files) => ({ type: 'attach', files, ts: ts(10) });
const prepared = (f, extra = {}) => ({ type: 'prepared', clientId: f.clientId, name: f.name, fileType: f.type, size: f.size, ...extra });
const reply = (clientId, uploadId = `up-${clientId}`) => frame({
  type: 'upload', upload_id: uploadId, url: '/blobs/', fields: { key: uploadId, policy: 'p', signature: 's' },
  expires_in: 900, max_size: 1, client_id: clientId,
});

test('update never changes the state it is given, for the attachment events too', () => {
  const f = pdf('c1');
  const before = run(open(), attach(f), prepared(f)).state;
  const copy = structuredClone(before);
  for (const event of [reply('c1'), { type: 'cancelUpload', clientId: 'c1' }, attach(pdf('c2')), { type: 'status', status: 'offline' }]) {
    run(before, event);
    assert.deepEqual(before, copy, event.type);
  }
});

test('a file goes: prepare, upload frame, POST with the reply\'s fields, then send with the attachment', () => {
  const f = pdf('c1');
  let { state, effects, frames } = run(open(), attach(f));
  assert.deepEqual(uploadOps(effects), [{ type: 'upload', op: 'prepare', clientId: 'c1', name: 'report.pdf', scale: false }]);
  assert.deepEqual(frames, [], 'nothing leaves before the file is read');
  assert.equal(state.uploads.get('c1').status, 'preparing');

  ({ state, frames } = run(state, prepared(f)));
  assert.deepEqual(frames, [{ action: 'upload', name: 'report.pdf', type: 'application/pdf', size: f.size, client_id: 'c1' }]);
  assert.equal(state.uploads.get('c1').status, 'asking');

  ({ state, effects } = run(state, reply('c1')));
  assert.deepEqual(uploadOps(effects), [{
    type: 'upload', op: 'post', clientId: 'c1', url: '/blobs/', fields: { key: 'up-c1', policy: 'p', signature: 's' },
  }]);
  const u = state.uploads.get('c1');
  assert.deepEqual([u.status, u.progress, u.uploadId, u.expiresAt], ['posting', 0, 'up-c1', T0 + 900 * 1000]);

  ({ state, effects, frames } = run(state, { type: 'uploadPosted', clientId: 'c1' }));
  assert.equal(state.uploads.size, 0, 'the tray lets go of it: the thread shows it now');
  assert.deepEqual(sendFrames(frames), [{ action: 'send', to: BOB, text: '', client_id: 'c1', attachment: 'up-c1' }]);
  assert.deepEqual(uploadOps(effects, 'forget'), [{ type: 'upload', op: 'forget', clientId: 'c1', keepPreview: true }]);
  const add = effects.find((e) => e.type === 'outbox' && e.op === 'add');
  assert.deepEqual(add.item, {
    client_id: 'c1', to: BOB, text: '', ts: ts(10),
    attachment: { id: 'up-c1', name: 'report.pdf', type: 'application/pdf', size: f.size },
  });
  const [m] = sortedMessages(state.threads.get(BOB));
  assert.deepEqual([m.status, m.text, m.attachment.name, m.attachment.local], ['pending', '', 'report.pdf', true]);
  assert.equal(previewText(state.conversations.get(BOB).last), '📎 report.pdf');

  ({ state } = run(state, frame({ type: 'ack', client_id: 'c1', id: id(11), ts: ts(11) })));
  assert.equal(sortedMessages(state.threads.get(BOB))[0].status, 'sent');
});

test('concurrent uploads: each reply is matched by its client_id, not by order', () => {
  const a = pdf('ca', 1000, 'a.pdf');
  const b = pdf('cb', 2000, 'b.pdf');
  let { state } = run(open(), attach(a, b), prepared(a), prepared(b));
  let effects;
  ({ state, effects } = run(state, reply('cb', 'up-b')));
  assert.deepEqual(uploadOps(effects).map((e) => e.clientId), ['cb']);
  assert.equal(state.uploads.get('cb').uploadId, 'up-b');
  assert.equal(state.uploads.get('ca').status, 'asking');
  ({ state } = run(state, reply('ca', 'up-a')));
  assert.equal(state.uploads.get('ca').uploadId, 'up-a');
  // a reply for nothing we asked (cancelled, or a second answer) changes nothing
  const stray = run(state, reply('cz'), reply('ca', 'up-other'));
  assert.equal(stray.state.uploads.get('ca').uploadId, 'up-a');
  assert.deepEqual(uploadOps(stray.effects), []);
});

test('files chosen together become messages in the order chosen, whichever is stored first', () => {
  const a = photo('ca', 1000, 'a.png');
  const b = pdf('cb', 2000, 'b.pdf');
  const c = pdf('cc', 3000, 'c.pdf');
  let { state } = run(open(), attach(a, b, c), prepared(a), prepared(b), prepared(c), reply('ca'), reply('cb'), reply('cc'));
  let frames;
  ({ state, frames } = run(state, { type: 'uploadPosted', clientId: 'cb' }));
  assert.deepEqual(sendFrames(frames), [], 'b waits for a');
  assert.equal(state.uploads.get('cb').status, 'posted');
  ({ state, frames } = run(state, { type: 'uploadPosted', clientId: 'ca' }));
  assert.deepEqual(sendFrames(frames).map((f) => f.client_id), ['ca', 'cb']);
  assert.deepEqual([...state.uploads.keys()], ['cc']);
  // one that fails or is cancelled holds nothing up
  const d = pdf('cd', 10, 'd.pdf');
  const e = pdf('ce', 10, 'e.pdf');
  ({ state } = run(open(), attach(d, e), prepared(d), prepared(e), reply('cd'), reply('ce'), { type: 'uploadPosted', clientId: 'ce' }));
  assert.deepEqual(sendFrames(run(state, { type: 'uploadFailed', clientId: 'cd', status: 500 }).frames).map((f) => f.client_id), ['ce']);
  assert.deepEqual(sendFrames(run(state, { type: 'cancelUpload', clientId: 'cd' }).frames).map((f) => f.client_id), ['ce']);
});

test('progress is a whole percent 0..100 that only grows while posting', () => {
  const f = pdf('c1');
  let { state } = run(open(), attach(f), prepared(f), reply('c1'));
  const progress = (loaded, total = 400) => ({ type: 'uploadProgress', clientId: 'c1', loaded, total });
  ({ state } = run(state, progress(1)));
  assert.equal(state.uploads.get('c1').progress, 0);
  ({ state } = run(state, progress(133)));
  assert.equal(state.uploads.get('c1').progress, 33);
  ({ state } = run(state, progress(100)));
  assert.equal(state.uploads.get('c1').progress, 33, 'never backwards');
  ({ state } = run(state, progress(399)));
  assert.equal(state.uploads.get('c1').progress, 99, 'not 100 before every byte is out');
  ({ state } = run(state, progress(400), progress(500), progress(5, 0)));
  assert.equal(state.uploads.get('c1').progress, 100);
});

test('too big or not an allowed type: refused in words, with no frame and no POST', () => {
  const big = pdf('c1', 11 * MB, 'big.pdf');
  const svg = { clientId: 'c2', name: 'drawing.svg', type: 'image/svg+xml', size: 300 };
  const html = { clientId: 'c3', name: 'page.html', type: 'text/html', size: 300 };
  const empty = { clientId: 'c4', name: 'empty.txt', type: 'text/plain', size: 0 };
  const { state, effects, frames } = run(open(), attach(big, svg, html, empty));
  assert.deepEqual(frames, []);
  assert.deepEqual(uploadOps(effects, 'prepare'), []);
  assert.deepEqual(uploadOps(effects, 'forget').map((e) => e.clientId), ['c1', 'c2', 'c3', 'c4']);
  const words = [
    'big.pdf is too big: the limit is 10 MB',
    "drawing.svg can't be sent: only photos (PNG, JPEG, GIF, WebP), PDF and text files are allowed",
    "page.html can't be sent: only photos (PNG, JPEG, GIF, WebP), PDF and text files are allowed",
    'empty.txt is empty: there is nothing to send',
  ];
  assert.deepEqual(announced(effects), words);
  assert.deepEqual([...state.uploads.values()].map((u) => [u.status, u.final, u.error]), words.map((w) => ['failed', true, w]));
  // Dismiss takes the notice away
  const dismissed = run(state, { type: 'dismissUpload', clientId: 'c2' }).state;
  assert.equal(dismissed.uploads.has('c2'), false);
  // leaving the conversation forgets the notices
  const left = run(state, { type: 'route', route: { name: 'home' } }).state;
  assert.equal(left.uploads.size, 0);
});

test('a big photo is scaled before its size is judged; still too big once scaled: refused', () => {
  const f = photo('c1', 25 * MB, 'huge.png');
  let { state, effects, frames } = run(open(), attach(f));
  assert.deepEqual(uploadOps(effects, 'prepare'), [{ type: 'upload', op: 'prepare', clientId: 'c1', name: 'huge.png', scale: true }]);
  ({ state, effects, frames } = run(state, prepared(f, { size: 12 * MB })));
  assert.deepEqual(frames, []);
  assert.deepEqual(announced(effects), ['huge.png is too big: the limit is 10 MB']);
  const small = photo('c2', 25 * MB, 'fine.webp');
  ({ frames } = run(state, attach(small), prepared(small, { name: 'fine.jpg', fileType: 'image/jpeg', size: 3 * MB, previewUrl: 'blob:x' })));
  assert.deepEqual(uploadFrames(frames), [{ action: 'upload', name: 'fine.jpg', type: 'image/jpeg', size: 3 * MB, client_id: 'c2' }]);
  // a GIF is sent as it is (its animation kept): judged at once
  const gif = { clientId: 'c3', name: 'dance.gif', type: 'image/gif', size: 11 * MB };
  ({ effects } = run(state, attach(gif)));
  assert.deepEqual(announced(effects), ['dance.gif is too big: the limit is 10 MB']);
});

test('the limits come from /config.js', () => {
  const { rules } = readConfig({ maxUpload: 1000, uploadTypes: ['image/png', 'text/plain'] });
  const state = open({ rules });
  const { effects } = run(state, attach(pdf('c1', 10)), attach({ clientId: 'c2', name: 'a.txt', type: 'text/plain', size: 2000 }));
  assert.deepEqual(announced(effects), [
    "report.pdf can't be sent: only photos (PNG) and text files are allowed",
    'a.txt is too big: the limit is 1000 bytes',
  ]);
});

test('the server\'s refusals in plain words: too_large and invalid are final, others offer Retry', () => {
  const f = pdf('c1');
  const asked = run(open(), attach(f), prepared(f)).state;
  const refused = (code, extra = {}) => run(asked, frame({
    type: 'error', action: 'upload', code, message: 'x', client_id: 'c1', ...extra,
  }));
  let { state, effects } = refused('too_large');
  assert.deepEqual(announced(effects), ['report.pdf is too big: the limit is 10 MB']);
  assert.equal(state.uploads.get('c1').final, true);
  ({ state, effects } = refused('invalid'));
  assert.deepEqual(announced(effects), ["report.pdf can't be sent: only photos (PNG, JPEG, GIF, WebP), PDF and text files are allowed"]);
  assert.equal(state.uploads.get('c1').final, true);
  assert.deepEqual(run(state, { type: 'retryUpload', clientId: 'c1', now: T0 }).frames, [], 'no Retry of a final refusal');

  ({ state, effects } = refused('rate_limited', { retry_after: 5 }));
  const u = state.uploads.get('c1');
  assert.deepEqual([u.status, u.final, u.waitUntil], ['failed', false, T0 + 5000]);
  assert.match(u.error, /^report\.pdf not sent: Too many attempts\. Try again in 5 seconds\.$/);
  assert.ok(effects.some((e) => e.type === 'later' && e.ms === 5000 && e.event.type === 'uploadWaitOver'));
  assert.deepEqual(run(state, { type: 'retryUpload', clientId: 'c1', now: T0 }).frames, [], 'not before the wait is over');
  ({ state } = run(state, { type: 'uploadWaitOver', clientId: 'c1' }));
  assert.deepEqual(uploadFrames(run(state, { type: 'retryUpload', clientId: 'c1', now: T0 }).frames).length, 1);

  ({ state, effects } = refused('internal'));
  assert.equal(state.uploads.get('c1').final, false);
  assert.deepEqual(announced(effects), ['report.pdf not sent: Something went wrong on our side. Please try again. You can retry it.']);
});

test('a failed POST offers Retry, which reuses the upload while its POST is valid, else asks anew', () => {
  const f = pdf('c1');
  let { state, effects, frames } = run(open(), attach(f), prepared(f), reply('c1'), { type: 'uploadFailed', clientId: 'c1', status: 500 });
  let u = state.uploads.get('c1');
  assert.deepEqual([u.status, u.final, u.error], ['failed', false, 'report.pdf could not be uploaded.']);
  assert.ok(announced(effects).includes('report.pdf could not be uploaded. You can retry it.'));
  ({ state, effects, frames } = run(state, { type: 'retryUpload', clientId: 'c1', now: T0 + 1000 }));
  assert.deepEqual(frames, [], 'the upload id already obtained is reused');
  assert.deepEqual(uploadOps(effects, 'post').map((e) => e.fields.key), ['up-c1']);
  assert.ok(effects.some((e) => e.type === 'focus' && e.id === 'cancel-upload-c1'));

  const posting = state;
  ({ state } = run(posting, { type: 'uploadFailed', clientId: 'c1', status: 500 }));
  const late = T0 + 900 * 1000 - POST_MARGIN_MS;
  ({ frames, effects } = run(state, { type: 'retryUpload', clientId: 'c1', now: late }));
  assert.deepEqual(uploadFrames(frames).length, 1, 'a POST about to expire is asked for anew');
  assert.deepEqual(uploadOps(effects, 'post'), []);

  // refused by the storage (403: an expired policy): the next try asks anew at once
  ({ state } = run(posting, { type: 'uploadFailed', clientId: 'c1', status: 403 }));
  u = state.uploads.get('c1');
  assert.equal(u.expiresAt, 0);
  assert.equal(uploadFrames(run(state, { type: 'retryUpload', clientId: 'c1', now: T0 }).frames).length, 1);
});

test('Cancel upload stops it at any step and forgets the file; a late reply finds nothing', () => {
  const f = pdf('c1');
  for (const steps of [[], [prepared(f)], [prepared(f), reply('c1')]]) {
    const before = run(open(), attach(f), ...steps).state;
    const { state, effects } = run(before, { type: 'cancelUpload', clientId: 'c1' });
    assert.equal(state.uploads.size, 0);
    assert.deepEqual(uploadOps(effects), [{ type: 'upload', op: 'forget', clientId: 'c1', keepPreview: false }]);
    assert.deepEqual(announced(effects), ['Upload of report.pdf cancelled.']);
    const late = run(state, prepared(f), reply('c1'), { type: 'uploadPosted', clientId: 'c1' });
    assert.deepEqual(late.frames, []);
    assert.deepEqual(uploadOps(late.effects, 'post'), []);
    assert.equal(late.state.threads.get(BOB).messages.size, 0);
  }
});

test('offline: files wait, and after the reconnect each goes exactly once', () => {
  const a = pdf('ca', 1000, 'a.pdf');
  const b = photo('cb', 2000, 'b.png');
  let { state, frames } = run(open(), { type: 'status', status: 'offline' }, attach(a, b), prepared(a), prepared(b));
  assert.deepEqual(frames, []);
  assert.deepEqual([...state.uploads.values()].map((u) => u.status), ['queued', 'queued']);
  const back = [{ type: 'status', status: 'online' }, { type: 'open' }, frame({ type: 'welcome', username: ME, token: 'tok' })];
  ({ state, frames } = run(state, ...back));
  assert.deepEqual(uploadFrames(frames).map((f) => f.client_id), ['ca', 'cb']);
  // the connection drops again before the replies: asked again (once each) after the next welcome
  ({ state, frames } = run(state, { type: 'status', status: 'offline' }));
  assert.deepEqual([...state.uploads.values()].map((u) => u.status), ['queued', 'queued']);
  ({ state, frames } = run(state, ...back, reply('ca'), reply('cb')));
  assert.deepEqual(uploadFrames(frames).map((f) => f.client_id), ['ca', 'cb']);

  // a POST that fails while offline goes again after the welcome, with the same upload id
  let effects;
  ({ state, effects } = run(state, { type: 'status', status: 'offline' }, { type: 'uploadFailed', clientId: 'ca', status: 0 }));
  assert.deepEqual(announced(effects), [], 'not an error: it waits for the connection');
  assert.equal(state.uploads.get('ca').status, 'queued');
  ({ state, effects, frames } = run(state, ...back));
  assert.deepEqual(uploadFrames(frames), [], 'the upload ids obtained are reused');
  assert.deepEqual(uploadOps(effects, 'post').map((e) => e.fields.key), ['up-ca']);

  // both stored: each sent once; a reconnect before the acks sends each again with the same client_id
  ({ state, frames } = run(state, { type: 'uploadPosted', clientId: 'ca' }, { type: 'uploadPosted', clientId: 'cb' }));
  assert.deepEqual(sendFrames(frames).map((f) => [f.client_id, f.attachment]), [['ca', 'up-ca'], ['cb', 'up-cb']]);
  const outboxItems = run(state).effects; // nothing
  assert.deepEqual(outboxItems, []);
  const items = sortedMessages(state.threads.get(BOB)).map((m) => ({
    client_id: m.client_id, to: BOB, text: '', ts: m.ts,
    attachment: { id: m.attachment.id, name: m.attachment.name, type: m.attachment.type, size: m.attachment.size },
  }));
  let effects2;
  ({ state, frames, effects: effects2 } = run(state, { type: 'status', status: 'offline' }, ...back, { type: 'outbox', items }));
  assert.deepEqual(uploadFrames(frames), [], 'a POST that completed is not redone');
  assert.deepEqual(uploadOps(effects2, 'post'), []);
  assert.deepEqual(sendFrames(frames).map((f) => [f.client_id, f.attachment]), [['ca', 'up-ca'], ['cb', 'up-cb']]);
  ({ state } = run(state, frame({ type: 'ack', client_id: 'ca', id: id(20), ts: ts(20) }), frame({ type: 'ack', client_id: 'cb', id: id(21), ts: ts(21) })));
  assert.equal(state.threads.get(BOB).messages.size, 2, 'each message once');
});

test('after a reload the outbox sends an attachment message again; history brings its link', () => {
  let state = open();
  const item = { client_id: 'c1', to: BOB, text: '', ts: ts(5), attachment: { id: 'up1', name: 'cat.png', type: 'image/png', size: 10 } };
  let frames;
  ({ state, frames } = run(state, { type: 'outbox', items: [item] }));
  assert.deepEqual(sendFrames(frames), [{ action: 'send', to: BOB, text: '', client_id: 'c1', attachment: 'up1' }]);
  const [pending] = sortedMessages(state.threads.get(BOB));
  assert.deepEqual([pending.attachment.url, pending.attachment.local], ['', true]);
  const stored = { ...wire(6, ME, BOB, '', 'c1'), attachment: { ...item.attachment, url: 'http://x/blobs/up1?sig' } };
  let effects;
  ({ state, effects } = run(state, frame({ type: 'history', with: BOB, messages: [stored], more: false })));
  assert.deepEqual(uploadOps(effects), [{ type: 'upload', op: 'forget', clientId: 'c1', keepPreview: false }],
    'our own copy (its blob: URL) is let go once the server\'s link replaces it');
  const [m] = sortedMessages(state.threads.get(BOB));
  assert.deepEqual([m.status, m.attachment.url, Boolean(m.attachment.local)], ['sent', 'http://x/blobs/up1?sig', false]);
  assert.equal(m.attachment.fetchedAt, T0);
});

test('a send of an attachment the server refuses says so in words', () => {
  const f = pdf('c1');
  let { state } = run(open(), attach(f), prepared(f), reply('c1'), { type: 'uploadPosted', clientId: 'c1' });
  let effects;
  ({ state, effects } = run(state, frame({ type: 'error', action: 'send', code: 'invalid', message: 'x', client_id: 'c1' })));
  const [m] = sortedMessages(state.threads.get(BOB));
  assert.deepEqual([m.status, m.final], ['failed', true]);
  assert.equal(m.error, 'report.pdf could not be sent: the upload was refused or has expired.');
  assert.ok(announced(effects)[0].startsWith('Message to bob not sent: report.pdf could not be sent'));
  // Retry of a retryable failure sends the attachment again
  ({ state } = run(open(), attach(f), prepared(f), reply('c1'), { type: 'uploadPosted', clientId: 'c1' },
    frame({ type: 'error', action: 'send', code: 'internal', message: 'x', client_id: 'c1' })));
  const key = sortedMessages(state.threads.get(BOB))[0].key;
  const retried = run(state, { type: 'retry', key });
  assert.deepEqual(sendFrames(retried.frames), [{ action: 'send', to: BOB, text: '', client_id: 'c1', attachment: 'up-c1' }]);
  assert.equal(retried.effects.find((e) => e.type === 'outbox' && e.op === 'add').item.attachment.id, 'up-c1');
});

test('messages with attachments: shown, previewed, and gone with a delete', () => {
  const cat = { id: 'u1', name: 'cat.png', type: 'image/png', size: 1234, url: 'http://x/1' };
  const doc = { id: 'u2', name: 'notes.txt', type: 'text/plain', size: 12, url: 'http://x/2' };
  let { state, effects } = run(open(), frame({ type: 'message', ...wire(1, BOB, ME, ''), attachment: cat }));
  assert.deepEqual(announced(effects), ['New message from bob: 📷 Photo']);
  assert.equal(previewText(state.conversations.get(BOB).last), '📷 Photo');
  ({ state } = run(state, frame({ type: 'message', ...wire(2, BOB, ME, 'read this'), attachment: doc })));
  assert.equal(previewText(state.conversations.get(BOB).last), 'read this', 'a text says more than the file');
  assert.equal(previewText({ text: '', attachment: doc }), '📎 notes.txt');
  ({ state } = run(state, frame({ type: 'deleted', id: id(1), with: BOB })));
  const first = sortedMessages(state.threads.get(BOB))[0];
  assert.deepEqual([first.deleted, first.attachment], [true, null]);
  // a conversations item with a photo only
  ({ state } = run(state, frame({ type: 'conversations', items: [{ with: 'carl', last: { ...wire(3, 'carl', ME, ''), attachment: cat }, unread: 1 }] })));
  assert.equal(previewText(state.conversations.get('carl').last), '📷 Photo');
});

test('a photo that does not load asks for its history page again, at most once a minute', () => {
  const cat = (n) => ({ id: `u${n}`, name: 'cat.png', type: 'image/png', size: 1, url: `http://x/${n}` });
  const messages = [1, 2, 3].map((n) => ({ ...wire(n, BOB, ME, ''), attachment: cat(n) }));
  let { state } = run(open(), frame({ type: 'history', with: BOB, messages, more: true }));
  const key = (n) => sortedMessages(state.threads.get(BOB))[n - 1].key;
  let frames;
  ({ state, frames } = run(state, { type: 'linkBroken', key: key(2), now: T0 }));
  assert.deepEqual(frames, [{ action: 'history', with: BOB, limit: 50, before: id(3) }], 'the page that holds it');
  assert.deepEqual(run(state, { type: 'linkBroken', key: key(1), now: T0 }).frames, [], 'one request at a time');
  const fresh = { ...messages[1], attachment: { ...cat(2), url: 'http://x/2-fresh' } };
  ({ state } = run(state, frame({ type: 'history', with: BOB, messages: [messages[0], fresh], more: true })));
  assert.equal(sortedMessages(state.threads.get(BOB))[1].attachment.url, 'http://x/2-fresh');
  assert.equal(state.threads.get(BOB).hasMore, true, 'a refresh says nothing about older pages');
  assert.deepEqual(run(state, { type: 'linkBroken', key: key(2), now: T0 + LINK_REFRESH_MS - 1 }).frames, [], 'no loop');
  assert.deepEqual(run(state, { type: 'linkBroken', key: key(2), now: T0 + LINK_REFRESH_MS }).frames.length, 1);
  // the newest message: the latest page
  assert.deepEqual(run(state, { type: 'linkBroken', key: key(3), now: T0 }).frames, [{ action: 'history', with: BOB, limit: 50 }]);
});

test('a Download link older than its signature refreshes first, then downloads the fresh link', () => {
  const doc = { id: 'u1', name: 'report.pdf', type: 'application/pdf', size: 10, url: 'http://x/old' };
  let { state } = run(open(), frame({ type: 'history', with: BOB, messages: [{ ...wire(1, BOB, ME, ''), attachment: doc }], more: false }));
  const key = sortedMessages(state.threads.get(BOB))[0].key;
  assert.equal(linkIsStale(state, key, T0 + 60 * 1000), false);
  const later = T0 + LINK_FRESH_MS + 1;
  assert.equal(linkIsStale(state, key, later), true);
  let frames;
  let effects;
  ({ state, frames } = run(state, { type: 'refreshDownload', key, now: later }));
  assert.deepEqual(frames, [{ action: 'history', with: BOB, limit: 50 }]);
  const fresh = { ...wire(1, BOB, ME, ''), attachment: { ...doc, url: 'http://x/new' } };
  ({ state, effects } = run(state, { type: 'frame', frame: { type: 'history', with: BOB, messages: [fresh], more: false }, now: later }));
  assert.deepEqual(effects.filter((e) => e.type === 'download'), [{ type: 'download', url: 'http://x/new', name: 'report.pdf' }]);
  assert.equal(linkIsStale(state, key, later), false);
});

test('files can be attached only in a conversation that can be written to; signing out forgets them', () => {
  const off = open({ rules: readConfig({ uploadTypes: [] }).rules }); // a server that takes no files
  assert.equal(run(off, attach(pdf('c1'))).state.uploads.size, 0);
  const home = run(open(), { type: 'route', route: { name: 'home' } }).state;
  const { state, effects } = run(home, attach(pdf('c1')));
  assert.equal(state.uploads.size, 0);
  assert.deepEqual(uploadOps(effects), [{ type: 'upload', op: 'forget', clientId: 'c1', keepPreview: false }]);
  const blocked = run(open(), frame({ type: 'blocked', username: BOB })).state;
  assert.equal(run(blocked, attach(pdf('c1'))).state.uploads.size, 0);
  const busy = run(open(), attach(pdf('c1'), pdf('c2'))).state;
  const out = run(busy, { type: 'signOut' }, { type: 'signOutTimeout' });
  assert.equal(out.state.uploads.size, 0);
  assert.deepEqual(uploadOps(out.effects, 'forget').map((e) => e.clientId), ['c1', 'c2']);
});

test('file names are made acceptable to the server; sizes in words', async () => {
  const { cleanFileName, humanSize } = await import('../../frontend/js/rules.js');
  assert.equal(cleanFileName('a/b\\c\u0000d.txt'), 'a_b_c_d.txt');
  assert.equal(cleanFileName('   '), 'file');
  const long = `${'x'.repeat(300)}.pdf`;
  assert.equal(Array.from(cleanFileName(long)).length, 255);
  assert.ok(cleanFileName(long).endsWith('.pdf'));
  assert.equal(Array.from(cleanFileName('😀'.repeat(300))).length, 255);
  assert.equal(cleanFileName('bad\uD800.png'), 'bad_.png');
  assert.deepEqual([0, 1, 1023, 1024, 1536, 10 * MB, 1.5 * MB, 123 * MB].map(humanSize),
    ['0 bytes', '1 byte', '1023 bytes', '1 KB', '1.5 KB', '10 MB', '1.5 MB', '123 MB']);
});
