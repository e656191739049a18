// Server error codes in plain words.

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
  register: 'Usernames are 3 to 32 characters: letters, digits, “_”, “.” or “-”. ' +
    'Passwords need at least 8 characters.',
  login: 'Wrong username or password.',
  send: 'That message could not be sent.',
};

export function describeError(frame) {
  if (frame.code === 'invalid') {
    return INVALID_BY_ACTION[frame.action] || 'That request was not valid.';
  }
  return WORDS[frame.code] || 'Something went wrong. Please try again.';
}

export const USERNAME_RULE = /^[a-z0-9_.-]{3,32}$/;
export const PASSWORD_MIN = 8;
export const MAX_TEXT = 4000;

/** Checks a sign-up before it leaves the browser; returns an error sentence or ''. */
export function checkRegistration(username, password) {
  if (!USERNAME_RULE.test(username)) {
    return 'Choose a username of 3 to 32 characters: letters, digits, “_”, “.” or “-”.';
  }
  if (password.length < PASSWORD_MIN) {
    return `Choose a password of at least ${PASSWORD_MIN} characters.`;
  }
  return '';
}
