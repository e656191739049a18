// The Account dialog (a modal <dialog>): Change password and Sign out everywhere. Its content
// is cloned from #account-template while it is open and removed when it closes, so its fields
// ("Current password", "New password") are not on the page the rest of the time.
// Renders from state.account; buttons with data-account="<event type>" and the form's submit
// are reported through the handlers given to initAccount.

import { byId, setText } from '../dom.js';

let handlers = null;

export function initAccount(h_) {
  handlers = h_;
  const dialog = byId('account-dialog');
  byId('account-button').addEventListener('click', () => handlers.onOpen());
  dialog.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-account]');
    if (button) handlers.onAction(button.dataset.account);
  });
  dialog.addEventListener('submit', (event) => {
    event.preventDefault();
    handlers.onChangePassword({ password: byId('current-password').value, newPassword: byId('new-password').value });
  });
  // Escape: the state decides (it closes the dialog and returns focus to Account).
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault();
    handlers.onAction('closeAccount');
  });
  // Closed by the browser itself (a repeated Escape cannot be held back): tell the state.
  dialog.addEventListener('close', () => {
    if (dialog.childElementCount) handlers.onAction('closeAccount');
  });
}

/** Effect {type: 'dialog', op}: shows the dialog (with fresh content) or closes it. */
export function showAccount(open) {
  const dialog = byId('account-dialog');
  if (open) {
    dialog.replaceChildren(byId('account-template').content.cloneNode(true));
    if (!dialog.open) dialog.showModal();
  } else {
    if (dialog.open) dialog.close();
    dialog.replaceChildren();
  }
}

export function clearAccountFields() {
  for (const id of ['current-password', 'new-password']) {
    const input = byId(id);
    if (input) input.value = '';
  }
}

export function renderAccount(state) {
  const a = state.account;
  if (!a.open || !byId('account-title')) return;
  setText(byId('account-who'), state.me ? `Signed in as ${state.me}.` : '');
  byId('account-username').value = state.me || '';
  setText(byId('new-password-hint'),
    `At least ${state.rules.passwordMin} characters. Your other devices will be signed out; this one stays signed in.`);
  const change = byId('change-password-button');
  setText(change, a.busy === 'password' ? 'Changing password…' : 'Change password');
  change.setAttribute('aria-label', 'Change password'); // a fixed name while busy
  change.disabled = a.busy === 'password';
  setText(byId('change-password-error'), a.error);
  setText(byId('change-password-done'), a.done);
  byId('current-password').setAttribute('aria-invalid', a.field === 'current' ? 'true' : 'false');
  byId('new-password').setAttribute('aria-invalid', a.field === 'new' ? 'true' : 'false');
  setText(byId('signout-all-error'), a.everywhereError);
  byId('signout-all-button').hidden = a.confirming;
  byId('signout-all-ask').hidden = !a.confirming;
  const confirm = byId('signout-all-confirm');
  setText(confirm, a.busy === 'everywhere' ? 'Signing out everywhere…' : 'Yes, sign out everywhere');
  confirm.setAttribute('aria-label', 'Yes, sign out everywhere');
  confirm.disabled = byId('signout-all-cancel').disabled = a.busy === 'everywhere';
}
