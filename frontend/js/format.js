// Times and dates in the reader's own time zone and language; the links in a message's text.

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const weekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long' });
const shortWeekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const dateFormat = new Intl.DateTimeFormat(undefined, { month: 'long', day: 'numeric' });
const fullDateFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'long', day: 'numeric',
});
const shortDateFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

const DAY = 24 * 60 * 60 * 1000;

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

function daysAgo(date, now = new Date()) {
  return Math.round((startOfDay(now) - startOfDay(date)) / DAY);
}

export const time = (ts) => timeFormat.format(new Date(ts));
export const fullDateTime = (ts) => fullFormat.format(new Date(ts));

/** A key that changes when the local calendar day changes. */
export function dayKey(ts) {
  const d = new Date(ts);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** "Today", "Yesterday", "Monday", "March 3" or "March 3, 2024". */
export function dayLabel(ts, now = new Date()) {
  const d = new Date(ts);
  const ago = daysAgo(d, now);
  if (ago === 0) return 'Today';
  if (ago === 1) return 'Yesterday';
  if (ago > 1 && ago < 7) return weekdayFormat.format(d);
  if (d.getFullYear() === now.getFullYear()) return dateFormat.format(d);
  return fullDateFormat.format(d);
}

/** Compact time for the conversations list. */
export function listTime(ts, now = new Date()) {
  const d = new Date(ts);
  const ago = daysAgo(d, now);
  if (ago === 0) return time(ts);
  if (ago > 0 && ago < 7) return shortWeekdayFormat.format(d);
  return shortDateFormat.format(d);
}

const URLISH = /\bhttps?:\/\/[^\s<>"]+/gi;
const TRAILING = /[.,;:!?'")\]}]+$/;

/** An http(s) URL, or null (anything else, javascript: too, stays text). */
function safeUrl(candidate) {
  try {
    const url = new URL(candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * A message's text cut into parts: {text} plain, or {text, href} for an http(s) URL
 * (trailing punctuation stays outside the link).
 */
export function linkParts(text) {
  const parts = [];
  let at = 0;
  for (const match of text.matchAll(URLISH)) {
    const raw = match[0].replace(TRAILING, '');
    const href = safeUrl(raw);
    if (!href) continue;
    if (match.index > at) parts.push({ text: text.slice(at, match.index) });
    parts.push({ text: raw, href });
    at = match.index + raw.length;
  }
  if (at < text.length) parts.push({ text: text.slice(at) });
  return parts;
}
