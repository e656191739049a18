// Server error codes in plain words.

import { DEFAULT_RULES } from './rules.js';

const WORDS = {
  username_taken: 'That username is already taken. Try another one.',
  bad_credentials: 'Wrong username or password.',
  rate_limited: 'Too many attempts. Please wait 15 minutes and try again.',
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
};

export function describeError(frame, rules = DEFAULT_RULES) {
  if (frame.code === 'invalid') {
    const words = INVALID_BY_ACTION[frame.action];
    return words ? words(rules) : 'That request was not valid.';
  }
  return WORDS[frame.code] || 'Something went wrong. Please try again.';
}
