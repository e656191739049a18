// The I/O of attachments, as update.js's `upload` and `download` effects ask: the files
// held while they are sent, photos scaled down on a canvas, the multipart POST (an
// XMLHttpRequest, for its upload progress events) and blob: URLs of the files (the
// sender's own copy). Decides nothing:
// every outcome goes back to update() as an event.

import { MAX_PHOTO_SIDE } from './rules.js';

const EXTENSIONS = { 'image/png': '.png', 'image/jpeg': '.jpg', 'image/webp': '.webp' };
const QUALITY = 0.9;

/** `dispatch(event)` is app.js's; `types` the MIME types the server takes. */
export function createUploads(dispatch, types) {
  const files = new Map(); // clientId -> File (the scaled one once prepared)
  const previews = new Map(); // clientId -> blob: URL
  const posts = new Map(); // clientId -> XMLHttpRequest in flight

  async function prepare({ clientId, name, scale }) {
    const file = files.get(clientId);
    if (!file) return;
    let ready = file;
    if (scale) {
      try {
        ready = (await scaleDown(file, name, types)) || file;
      } catch {
        ready = file; // not decodable here: sent as it is (the server checks only type and size)
      }
    }
    if (!files.has(clientId)) return; // cancelled meanwhile
    files.set(clientId, ready);
    // the sender's own copy (shown, or downloaded) until the server's link comes with history
    const previewUrl = URL.createObjectURL(ready);
    previews.set(clientId, previewUrl);
    dispatch({ type: 'prepared', clientId, name: ready.name || name, fileType: ready.type, size: ready.size, previewUrl });
  }

  function post({ clientId, url, fields }) {
    const file = files.get(clientId);
    if (!file) return;
    const form = new FormData();
    for (const [key, value] of Object.entries(fields || {})) form.append(key, value); // in order
    form.append('file', file, file.name); // last, as S3 wants
    const xhr = new XMLHttpRequest();
    posts.set(clientId, xhr);
    const done = () => posts.get(clientId) === xhr && posts.delete(clientId);
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) dispatch({ type: 'uploadProgress', clientId, loaded: event.loaded, total: event.total });
    });
    xhr.addEventListener('load', () => {
      if (!done()) return;
      if (xhr.status >= 200 && xhr.status < 300) {
        dispatch({ type: 'uploadProgress', clientId, loaded: 1, total: 1 });
        dispatch({ type: 'uploadPosted', clientId });
      } else {
        dispatch({ type: 'uploadFailed', clientId, status: xhr.status });
      }
    });
    for (const type of ['error', 'timeout']) {
      xhr.addEventListener(type, () => done() && dispatch({ type: 'uploadFailed', clientId, status: 0 }));
    }
    // A relative url (the local store's /blobs/) is on the page's own origin.
    xhr.open('POST', new URL(url, window.location.href).href);
    xhr.send(form);
  }

  function forget({ clientId, keepPreview }) {
    const xhr = posts.get(clientId);
    posts.delete(clientId);
    if (xhr) xhr.abort();
    files.delete(clientId);
    if (keepPreview) return; // the message shows it: forgotten once the server's link replaces it
    const preview = previews.get(clientId);
    previews.delete(clientId);
    if (preview) URL.revokeObjectURL(preview);
  }

  const OPS = { prepare, post, forget };
  return {
    /** Keeps a chosen file until update() says what becomes of it. */
    hold(clientId, file) {
      files.set(clientId, file);
    },
    run(effect) {
      OPS[effect.op](effect);
    },
  };
}

/** Downloads a link (one refreshed after the click that asked for it). */
export function download({ url, name }) {
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
}

/**
 * The photo with its longest side cut to MAX_PHOTO_SIDE, or null when it is no longer than
 * that. Keeps the type where the canvas can encode it, else JPEG, else WebP.
 */
async function scaleDown(file, name, types) {
  const bitmap = await createImageBitmap(file);
  try {
    const longest = Math.max(bitmap.width, bitmap.height);
    if (longest <= MAX_PHOTO_SIDE) return null;
    const ratio = MAX_PHOTO_SIDE / longest;
    const width = Math.max(1, Math.round(bitmap.width * ratio));
    const height = Math.max(1, Math.round(bitmap.height * ratio));
    const canvas = makeCanvas(width, height);
    const context = canvas.getContext('2d');
    context.imageSmoothingQuality = 'high';
    context.drawImage(bitmap, 0, 0, width, height);
    for (const type of [file.type, 'image/jpeg', 'image/webp']) {
      if (!types.includes(type)) continue;
      // a canvas that cannot encode a type gives PNG instead: then try the next
      const blob = await encode(canvas, type);
      if (blob && blob.type === type) {
        return new File([blob], renamed(name, file.type, type), { type, lastModified: file.lastModified });
      }
    }
    return null;
  } finally {
    bitmap.close();
  }
}

function makeCanvas(width, height) {
  if (typeof OffscreenCanvas === 'function') return new OffscreenCanvas(width, height);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

function encode(canvas, type) {
  if (typeof canvas.convertToBlob === 'function') return canvas.convertToBlob({ type, quality: QUALITY });
  return new Promise((resolve) => canvas.toBlob(resolve, type, QUALITY));
}

/** The name with the extension of its new type (a WebP re-encoded as JPEG: .jpg). */
function renamed(name, from, to) {
  if (from === to) return name;
  const stem = name.replace(/\.[^.]*$/, '') || name;
  return `${stem}${EXTENSIONS[to] || ''}`;
}
