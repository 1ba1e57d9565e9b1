// Small pieces every page uses: notices, errors, the confirmation dialog.

import { h } from './dom.js';
import { signedOut } from './router.js';

/** A message above the page content; kind is "info", "ok" or "error". */
export function notice(kind, text) {
  return h('p', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** Shows an API or network failure in place of (or above) the content. */
export function errorNotice(err) {
  const text = err && err.message ? err.message : String(err);
  return notice('error', err && err.code && err.code !== 'http_error' ? `${text} (${err.code})` : text);
}

/**
 * Asks before a change. Resolves true on confirm, false on cancel or Escape. The dialog is modal,
 * so nothing else on the page can be clicked meanwhile.
 */
export function confirmAction({ title, body, confirmLabel, danger = false }) {
  return new Promise((resolve) => {
    let answered = false;
    const done = (value) => {
      if (answered) return;
      answered = true;
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    const dialog = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': 'confirm-title' },
      h('h2', { id: 'confirm-title' }, title),
      (Array.isArray(body) ? body : [body]).map((line) => (line instanceof Node ? line : h('p', {}, line))),
      h(
        'div',
        { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'secondary', onclick: () => done(false) }, 'Cancel'),
        h('button', { type: 'button', class: danger ? 'danger' : 'primary', 'data-confirm': '', onclick: () => done(true) }, confirmLabel),
      ),
    );
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A page heading with optional buttons on the right. */
export function pageHeader(title, ...actions) {
  return h('div', { class: 'page-header' }, h('h1', {}, title), actions.length ? h('div', { class: 'header-actions' }, actions) : null);
}

/**
 * For failures inside event handlers: a refused token ends the session; anything else is shown
 * in `place`.
 */
export function showFailure(err, place) {
  if (err && err.status === 401) return signedOut('refused');
  place.replaceChildren(errorNotice(err));
}
