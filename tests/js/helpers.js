// Shared set-up for the state tests: a signed-in state and a way to run events through update.

import { createState } from '../../frontend/js/state.js';
import { update } from '../../frontend/js/update.js';

export const ME = 'ann';

/** The frames among `effects` (what would go out on the socket). */
export const framesOf = (effects) => effects.filter((e) => e.type === 'send').map((e) => e.frame);
export const T0 = Date.parse('2026-01-01T10:00:00Z');

export const ts = (n) => new Date(T0 + n * 1000).toISOString();
/** Message ids sort like the server's (time first); `n` orders them. */
export const id = (n) => `m${String(n).padStart(6, '0')}`;

export function wire(n, from, to, text = `text ${n}`, clientId = '') {
  return { id: id(n), from, to, text, ts: ts(n), ...(clientId ? { client_id: clientId } : {}) };
}

/** Runs events in order; returns the last state, every effect and the frames sent. */
export function run(state, ...events) {
  const effects = [];
  for (const event of events) {
    const result = update(state, event);
    JSON.stringify(result.effects); // plain data: throws on a draft that outlived update
    state = result.state;
    effects.push(...result.effects);
  }
  return { state, effects, frames: framesOf(effects) };
}

export const frame = (f) => ({ type: 'frame', frame: f, now: T0 });

/** Online and signed in as ME on the home page, with no conversations yet. */
export function signedIn(options = {}) {
  const start = createState({ route: { name: 'home' }, ...options });
  return run(
    start,
    { type: 'status', status: 'online' },
    { type: 'open' },
    frame({ type: 'welcome', username: ME, token: 'tok' }),
    { type: 'outbox', items: [] },
    frame({ type: 'conversations', items: [] }),
  ).state;
}

export const inChat = (state, other) => run(state, { type: 'route', route: { name: 'chat', with: other } });
