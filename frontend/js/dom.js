// Small DOM helpers. User text only ever reaches the page through textContent.

import { linkParts } from './format.js';

/**
 * Builds an element. `props` keys: class, text, dataset (object), attrs (object),
 * on (object of event handlers), and any plain DOM property (hidden, type, href...).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'attrs') for (const [a, v] of Object.entries(value)) el.setAttribute(a, v);
    else if (key === 'on') for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    else el[key] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const byId = (id) => document.getElementById(id);

/** Sets textContent only when it changed (keeps screen readers and layout calm). */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/**
 * Makes `container`'s children match `items`, reusing elements by key.
 * `create(item)` builds a new element, `update(el, item)` refreshes one.
 * Returns {added, removed} counts.
 */
export function reconcile(container, items, keyOf, create, update) {
  const existing = new Map();
  for (const child of container.children) existing.set(child.dataset.key, child);
  const next = items.map((item) => {
    const key = keyOf(item);
    let el = existing.get(key);
    if (el) existing.delete(key);
    else {
      el = create(item);
      el.dataset.key = key;
    }
    update(el, item);
    return el;
  });
  const current = [...container.children];
  const same = current.length === next.length && current.every((el, i) => el === next[i]);
  if (!same) container.replaceChildren(...next);
  return { removed: existing.size };
}

/** Eight calm avatar colours, picked by a stable hash of the name. */
export function avatarClass(name) {
  let hash = 0x811c9dc5; // FNV-1a
  for (const ch of name) hash = Math.imul(hash ^ ch.codePointAt(0), 0x01000193) >>> 0;
  return `avatar avatar--c${(hash >>> 7) % 8}`;
}

export function avatar(name, extraClass = '') {
  return h('span', {
    class: `${avatarClass(name)} ${extraClass}`.trim(),
    text: name.slice(0, 1).toUpperCase(),
    attrs: { 'aria-hidden': 'true' },
  });
}

/**
 * Sets a message's text, with each http(s) URL in it a link opening in a new tab. Built
 * with DOM nodes only (no HTML parsing); only redraws when the text changed.
 */
export function setTextWithLinks(el, text) {
  if (el.dataset.text === text && el.dataset.linked === '1') return;
  el.dataset.text = text;
  el.dataset.linked = '1';
  el.replaceChildren(...linkParts(text).map((part) => {
    if (!part.href) return document.createTextNode(part.text);
    const a = document.createElement('a');
    a.href = part.href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = part.text;
    return a;
  }));
}
