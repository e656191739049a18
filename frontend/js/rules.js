// The server's limits and rules as the client applies them, read once from /config.js
// (window.CHAT_CONFIG, written by the server from its settings). A field that is missing
// or unusable falls back to the default below, which matches the server's own default.

export const DEFAULT_RULES = Object.freeze({
  maxText: 4000,
  passwordMin: 8,
  maxUpload: 10485760, // bytes (10 MB)
  uploadTypes: Object.freeze([
    'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf', 'text/plain',
  ]),
  username: Object.freeze({
    // The server lower-cases a username, then matches it in full against this.
    pattern: '^(?:[a-z0-9_.-]{3,32})$',
    message: 'Choose a username of 3 to 32 characters: letters, digits, “_”, “.” or “-”.',
  }),
});

const isCount = (value) => Number.isInteger(value) && value > 0;
const isText = (value) => typeof value === 'string' && value !== '';
// an empty list: this server takes no files (attachments off)
const isTypeList = (value) => Array.isArray(value) && value.every(isText);

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
      maxUpload: isCount(config.maxUpload) ? config.maxUpload : d.maxUpload,
      uploadTypes: isTypeList(config.uploadTypes) ? config.uploadTypes.map((t) => t.toLowerCase()) : [...d.uploadTypes],
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

// attachments

/** Photos the browser scales down before upload (a GIF is sent as it is, to keep its animation). */
export const SCALED_TYPES = Object.freeze(['image/png', 'image/jpeg', 'image/webp']);
/** Photos longer than this on their longest side are scaled down to it. */
export const MAX_PHOTO_SIDE = 2048;
const NAME_MAX = 255;

const TYPE_WORDS = {
  'image/png': 'PNG', 'image/jpeg': 'JPEG', 'image/gif': 'GIF', 'image/webp': 'WebP',
  'application/pdf': 'PDF', 'text/plain': 'text files',
};

/** Whether a file of this MIME type may be sent (the server's list, from /config.js). */
export const typeAllowed = (type, rules = DEFAULT_RULES) =>
  typeof type === 'string' && rules.uploadTypes.includes(type.toLowerCase());

export const sizeFits = (size, rules = DEFAULT_RULES) => size > 0 && size <= rules.maxUpload;

/** A size in bytes for people: "12 bytes", "340 KB", "1.5 MB", "10 MB" (binary units). */
export function humanSize(bytes) {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value >= 10 ? Math.round(value) : Math.round(value * 10) / 10;
  return `${shown} ${units[unit]}`;
}

/** "photos (PNG, JPEG, GIF, WebP), PDF and text files": the allowed types in words. */
export function allowedWords(rules = DEFAULT_RULES) {
  const photos = rules.uploadTypes.filter((t) => t.startsWith('image/')).map((t) => TYPE_WORDS[t] || t);
  const others = rules.uploadTypes.filter((t) => !t.startsWith('image/')).map((t) => TYPE_WORDS[t] || t);
  const parts = [...(photos.length ? [`photos (${photos.join(', ')})`] : []), ...others];
  return parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : parts.join('');
}

export const tooBigWords = (name, rules = DEFAULT_RULES) =>
  `${name} is too big: the limit is ${humanSize(rules.maxUpload)}`;

export const notAllowedWords = (name, rules = DEFAULT_RULES) =>
  `${name} can't be sent: only ${allowedWords(rules)} are allowed`;

/**
 * A file name the server accepts (1..255 characters, no control characters, no "/" or "\"):
 * those characters become "_", a longer name is cut before its extension, none is "file".
 */
export function cleanFileName(name) {
  const cleaned = Array.from(String(name || '')
    .replace(/[\u0000-\u001f\u007f-\u009f/\\]/g, '_')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '_') // lone surrogates
    .trim());
  if (!cleaned.length) return 'file';
  if (cleaned.length <= NAME_MAX) return cleaned.join('');
  const dot = cleaned.lastIndexOf('.');
  const ext = dot > 0 && cleaned.length - dot <= 16 ? cleaned.slice(dot) : [];
  return cleaned.slice(0, NAME_MAX - ext.length).join('') + ext.join('');
}
