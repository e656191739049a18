// Speaks incoming messages through a polite aria-live region.

import { byId } from '../dom.js';

let clearTimer = 0;

export function announce(sentence) {
  const region = byId('announcer');
  // Re-setting the same text would not be spoken again; clear it first.
  region.textContent = '';
  clearTimeout(clearTimer);
  setTimeout(() => {
    region.textContent = sentence;
    clearTimer = setTimeout(() => { region.textContent = ''; }, 5000);
  }, 50);
}
