// Server error codes in plain words.

import { DEFAULT_RULES } from './rules.js';

const WORDS = {
  username_taken: 'That username is already taken. Try another one.',
  bad_credentials: 'Wrong username or password.',
  bad_token: 'Your session has ended. Please sign in again.',
  unauthenticated: 'Please sign in first.',
  no_such_user: 'There is no one with that username.',
  too_large: 'That message is too long.',
  internal: 'Something went wrong on our side. Please try again.',
  bad_json: 'Something went wrong. Please reload the page.',
  unknown_action: 'Something went wrong. Please reload the page.',
};

const INVALID_BY_ACTION = {
  register: (rules) => `${rules.username.message} Passwords need at least ${rules.passwordMin} characters.`,
  login: () => 'Wrong username or password.',
  send: () => 'That message could not be sent.',
  change_password: (rules) => `Choose a new password of at least ${rules.passwordMin} characters.`,
};

const BY_ACTION = {
  change_password: { bad_credentials: 'Your current password is not right.' },
};

const plural = (n, word) => `${n} ${n === 1 ? word : `${word}s`}`;

/** A wait of `seconds` in plain words, rounded up: "30 seconds", "2 minutes", "1 hour". */
export function waitWords(seconds) {
  const s = Math.max(1, Math.ceil(Number(seconds) || 0));
  if (s < 60) return plural(s, 'second');
  if (s < 3600) return plural(Math.ceil(s / 60), 'minute');
  return plural(Math.ceil(s / 3600), 'hour');
}

/** The seconds a `rate_limited` error asks to wait, or 0 when it does not say. */
export const retryAfter = (frame) =>
  Number.isFinite(frame.retry_after) && frame.retry_after > 0 ? Math.ceil(frame.retry_after) : 0;

function rateLimited(frame) {
  const what = frame.action === 'send' ? 'Too many messages at once.' : 'Too many attempts.';
  const wait = retryAfter(frame);
  return wait ? `${what} Try again in ${waitWords(wait)}.` : `${what} Please wait a little and try again.`;
}

export function describeError(frame, rules = DEFAULT_RULES) {
  if (frame.code === 'rate_limited') return rateLimited(frame);
  const special = BY_ACTION[frame.action] && BY_ACTION[frame.action][frame.code];
  if (special) return special;
  if (frame.code === 'invalid') {
    const words = INVALID_BY_ACTION[frame.action];
    return words ? words(rules) : 'That request was not valid.';
  }
  return WORDS[frame.code] || 'Something went wrong. Please try again.';
}

/** Why this device was signed out when it did not ask to be, for the sign-in screen. */
export const BYE_WORDS = {
  password_changed: 'Your password was changed on another device. Sign in again.',
  signed_out_everywhere: 'You were signed out on all your devices. Sign in again.',
  signed_out: 'This session was signed out on another device. Sign in again.',
  bad_token: 'Your session has ended: it expired or was signed out. Sign in again.',
  other: 'You were signed out. Sign in again.',
};
