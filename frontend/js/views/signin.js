// The sign-in screen: one form, two buttons, errors inline.

import { byId, setText } from '../dom.js';
import { toUsername } from '../rules.js';

export function initSignin({ onSignIn, onRegister }) {
  const form = byId('signin-form');
  const username = byId('username');
  const password = byId('password');
  const values = () => ({ username: toUsername(username.value), password: password.value });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    onSignIn(values());
  });
  byId('register-button').addEventListener('click', () => onRegister(values()));
}

let wasShown = false;

export function renderSignin(state) {
  const shown = state.phase === 'signed-out';
  byId('signin').hidden = !shown;
  if (!shown) {
    wasShown = false;
    return;
  }
  const { busy, error } = state.auth;
  const signIn = byId('signin-button');
  const register = byId('register-button');
  setText(signIn, busy === 'login' ? 'Signing in…' : 'Sign in');
  setText(register, busy === 'register' ? 'Creating account…' : 'Create account');
  // Keep the accessible names fixed while busy.
  signIn.setAttribute('aria-label', 'Sign in');
  register.setAttribute('aria-label', 'Create account');
  signIn.disabled = register.disabled = Boolean(busy);
  setText(byId('signin-error'), error);
  const notice = byId('signin-notice');
  setText(notice, state.auth.notice || '');
  notice.hidden = !state.auth.notice;
  byId('password').setAttribute('aria-invalid', error ? 'true' : 'false');
  if (!wasShown) {
    wasShown = true;
    document.title = 'Sign in · Chat';
    const user = byId('username');
    (user.value ? byId('password') : user).focus();
  }
}

export function clearSigninForm() {
  byId('password').value = '';
}
