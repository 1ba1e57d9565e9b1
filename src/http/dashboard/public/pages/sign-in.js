import { api, session } from '../api.js';
import { h } from '../dom.js';
import { go } from '../router.js';
import { errorNotice, notice } from '../ui.js';

const REASONS = {
  refused: 'The server refused the admin token of this session (was it changed?). Sign in again.',
};

/** Checks the token against the admin API before keeping it. */
export async function signInPage(section, params) {
  const message = h('div', { class: 'messages', 'aria-live': 'polite' });
  const reason = REASONS[params.get('reason')];
  if (reason) message.append(notice('info', reason));
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true, spellcheck: 'false' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card sign-in', onsubmit: submit },
    h('h1', {}, 'Sign in'),
    h(
      'p',
      { class: 'muted' },
      'Paste an admin token: one made for you with ',
      h('code', {}, 'licensor tokens create'),
      ', or the bootstrap token kept in the data directory as ',
      h('code', {}, 'admin-token'),
      ' (or set as ',
      h('code', {}, 'LICENSOR_ADMIN_TOKEN'),
      ').',
    ),
    h('label', { for: 'token' }, 'Admin token'),
    input,
    message,
    h('div', { class: 'form-actions' }, button),
    h('p', { class: 'muted small' }, 'The token stays in this browser tab only (session storage) and is sent to this server alone.'),
  );
  section.classList.add('narrow');
  section.append(form);
  input.focus();

  async function submit(event) {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    button.disabled = true;
    message.replaceChildren();
    try {
      session.signIn(token, await api('whoami', { token }));
      go('/');
    } catch (err) {
      message.append(err.status === 401 ? notice('error', 'That admin token was refused. Check it and try again.') : errorNotice(err));
      input.select();
    } finally {
      button.disabled = false;
    }
  }
}
