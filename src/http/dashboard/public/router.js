// Hash routes (#/codes?status=alive): no server-side routing, and the back button works.

import { session } from './api.js';

let rerender = () => {};

/** The app registers how to draw the current route. */
export function onRoute(render) {
  rerender = render;
  window.addEventListener('hashchange', render);
}

export function currentRoute() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, search = ''] = raw.split('?');
  return { path: path || '/', params: new URLSearchParams(search) };
}

export function go(path, params) {
  const search = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString() : '';
  const hash = `#${path}${search ? `?${search}` : ''}`;
  if (location.hash === hash) rerender();
  else location.hash = hash;
}

/** Back to sign in, with the reason shown there. */
export function signedOut(reason) {
  session.signOut();
  go('/sign-in', reason ? { reason } : undefined);
}
