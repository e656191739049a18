// The server's limits and rules as the client applies them, read once from /config.js
// (window.CHAT_CONFIG, written by the server from its settings). A field that is missing
// or unusable falls back to the default below, which matches the server's own default.

export const DEFAULT_RULES = Object.freeze({
  maxText: 4000,
  passwordMin: 8,
  username: Object.freeze({
    // The server lower-cases a username, then matches it in full against this.
    pattern: '^(?:[a-z0-9_.-]{3,32})$',
    message: 'Choose a username of 3 to 32 characters: letters, digits, “_”, “.” or “-”.',
  }),
});

const isCount = (value) => Number.isInteger(value) && value > 0;
const isText = (value) => typeof value === 'string' && value !== '';

function compiles(pattern) {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

/** `raw` is window.CHAT_CONFIG (anything); returns {websocketUrl, rules} with defaults filled. */
export function readConfig(raw) {
  const config = raw && typeof raw === 'object' ? raw : {};
  const user = config.username && typeof config.username === 'object' ? config.username : {};
  const d = DEFAULT_RULES;
  return {
    websocketUrl: isText(config.websocketUrl) ? config.websocketUrl : '',
    rules: {
      maxText: isCount(config.maxText) ? config.maxText : d.maxText,
      passwordMin: isCount(config.passwordMin) ? config.passwordMin : d.passwordMin,
      username: {
        pattern: isText(user.pattern) && compiles(user.pattern) ? user.pattern : d.username.pattern,
        message: isText(user.message) ? user.message : d.username.message,
      },
    },
  };
}

/** What a person typed as a username, the way the server will see it. */
export const toUsername = (typed) => typed.trim().toLowerCase();

/** Whether `name` (already lower-cased) is a valid username under `rules`. */
export function isUsername(name, rules = DEFAULT_RULES) {
  return typeof name === 'string' && new RegExp(rules.username.pattern).test(name);
}

/** Message text length as the server counts it: in code points, not UTF-16 units. */
export const textLength = (text) => Array.from(text).length;

export const textFits = (text, rules = DEFAULT_RULES) => textLength(text) <= rules.maxText;

/**
 * What the counter by the message box says: nothing while the text is far from the limit
 * (more than a tenth of it left), then how many characters are left, or how many too many.
 */
export function lengthNote(text, rules = DEFAULT_RULES) {
  const left = rules.maxText - textLength(text);
  if (left > Math.max(20, Math.floor(rules.maxText / 10))) return { text: '', over: false };
  const n = Math.abs(left);
  const chars = n === 1 ? 'character' : 'characters';
  return left >= 0 ? { text: `${n} ${chars} left`, over: false } : { text: `${n} ${chars} too many`, over: true };
}

/** Checks a sign-up before it leaves the browser; returns an error sentence or ''. */
export function checkRegistration(username, password, rules = DEFAULT_RULES) {
  if (!isUsername(username, rules)) return rules.username.message;
  if (password.length < rules.passwordMin) {
    return `Choose a password of at least ${rules.passwordMin} characters.`;
  }
  return '';
}
