// The dashboard's shell: a hash router (#/codes, #/codes/<code>, …) over pages that each fill
// a fresh <section>. A page whose section was replaced simply writes into a detached node.

import { api, session } from './api.js';
import { currentRoute, go, onRoute, signedOut } from './router.js';
import { h, fill } from './dom.js';
import { codePage } from './pages/code.js';
import { codesPage } from './pages/codes.js';
import { issuePage } from './pages/issue.js';
import { outboxPage } from './pages/outbox.js';
import { overviewPage } from './pages/overview.js';
import { productsPage } from './pages/products.js';
import { signInPage } from './pages/sign-in.js';
import { webhookPage, webhooksPage } from './pages/webhooks.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');

const LINKS = [
  ['#/', 'Overview', (p) => p === '/'],
  ['#/codes', 'Codes', (p) => p.startsWith('/codes')],
  ['#/products', 'Products', (p) => p === '/products'],
  ['#/marketplace', 'Marketplace', (p) => p === '/marketplace'],
  ['#/webhooks', 'Webhooks', (p) => p.startsWith('/webhooks')],
];

function renderNav(path) {
  if (!session.token) {
    fill(nav);
    return;
  }
  const grant = session.grant;
  fill(
    nav,
    LINKS.map(([href, label, active]) => h('a', { href, 'aria-current': active(path) ? 'page' : null }, label)),
    h(
      'span',
      { class: 'who', 'data-scope': grant.scope, title: `Audited as ${grant.actor}` },
      grant.name === null ? 'bootstrap token' : grant.name,
      h('span', { class: 'muted' }, ` · ${grant.scope}`),
    ),
    h('button', { type: 'button', class: 'link sign-out', onclick: () => signedOut() }, 'Sign out'),
  );
}

function render() {
  const { path, params } = currentRoute();
  if (!session.token && path !== '/sign-in') return go('/sign-in');
  // A session from before tokens had scopes: ask who it is once.
  if (session.token && !session.grant && path !== '/sign-in') {
    api('whoami').then(
      (grant) => (session.signIn(session.token, grant), render()),
      () => signedOut('refused'),
    );
    return;
  }
  renderNav(path);
  const section = h('section', { class: 'page' });
  main.replaceChildren(section);
  const page = pick(path);
  document.title = `${page.title} · licensor admin`;
  page.run(section, params).catch((err) => {
    if (err && err.status === 401) return signedOut('refused');
    section.append(h('p', { class: 'notice notice-error', role: 'alert' }, String(err && err.message ? err.message : err)));
  });
}

function pick(path) {
  if (path === '/sign-in') return { title: 'Sign in', run: (el, params) => signInPage(el, params) };
  if (path === '/' || path === '/overview') return { title: 'Overview', run: overviewPage };
  if (path === '/products') return { title: 'Products', run: productsPage };
  if (path === '/codes') return { title: 'Codes', run: codesPage };
  if (path === '/codes/new') return { title: 'Issue a code', run: issuePage };
  if (path === '/marketplace') return { title: 'Marketplace', run: outboxPage };
  if (path === '/webhooks') return { title: 'Webhooks', run: webhooksPage };
  const webhook = /^\/webhooks\/([^/]+)$/.exec(path);
  if (webhook) return { title: 'Webhook endpoint', run: (el) => webhookPage(el, decodeURIComponent(webhook[1])) };
  const code = /^\/codes\/([^/]+)$/.exec(path);
  if (code) return { title: 'Code', run: (el, params) => codePage(el, decodeURIComponent(code[1]), params) };
  return { title: 'Not found', run: async (el) => el.append(h('h1', {}, 'No such page'), h('p', {}, h('a', { href: '#/' }, 'Back to the overview'))) };
}

onRoute(render);
render();
