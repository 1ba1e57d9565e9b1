import { api, can } from '../api.js';
import { h, table, when } from '../dom.js';
import { go } from '../router.js';
import { notice, pageHeader, showFailure } from '../ui.js';

const duration = (seconds) =>
  seconds % 86_400 === 0 ? `${seconds / 86_400} d` : seconds % 3600 === 0 ? `${seconds / 3600} h` : seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;

/** The products, and a form to add one. */
export async function productsPage(section, params) {
  const { items } = await api('products');
  const created = params.get('created');
  const published = params.get('published');
  section.append(
    pageHeader('Products'),
    created ? notice('ok', `Product ${created} created.`) : null,
    published ? notice('ok', `Version ${published} published: running clients hear of it with their next heartbeat.`) : null,
    h(
      'div',
      { class: 'card' },
      table(
        [
          { label: 'Name', cell: (p) => h('strong', {}, p.name) },
          { label: 'Seat mode', cell: (p) => (p.seatMode === 'floating' ? 'floating' : 'node-locked') },
          { label: 'Lease', cell: (p) => duration(p.leaseSeconds) },
          { label: 'Heartbeat every', cell: (p) => duration(p.heartbeatIntervalSeconds) },
          { label: 'Matching', cell: (p) => p.matchStrategy },
          {
            label: 'Latest version',
            cell: (p) => (p.latestVersion ? [p.latestVersion, p.minimumVersion ? h('span', { class: 'muted' }, ` (required ≥ ${p.minimumVersion})`) : null] : '—'),
          },
          { label: 'Created', cell: (p) => when(p.createdAt) },
          {
            label: 'Open',
            class: 'actions-cell',
            cell: (p) => [
              h('a', { href: `#/codes?product=${encodeURIComponent(p.name)}` }, 'Codes'),
              ' · ',
              h('a', { href: `#/?product=${encodeURIComponent(p.name)}` }, 'Chart'),
            ],
          },
        ],
        items,
        { empty: can('full') ? 'No products yet: create the first one below.' : 'No products yet.' },
      ),
    ),
    // Products and their versions are the full scope's (docs/operations.md "Admin tokens").
    can('full') ? createForm() : null,
    can('full') && items.length > 0 ? publishForm(items) : null,
  );
}

/** Publishes a product's latest version; heartbeats carry it and clients raise an update notice. */
function publishForm(products) {
  const messages = h('div', { class: 'messages' });
  const product = h('select', { id: 'publish-product', name: 'product' }, ...products.map((p) => h('option', { value: p.name }, p.name)));
  const version = h('input', { id: 'publish-version', name: 'version', required: true, placeholder: '2.1.0' });
  const required = h('input', { id: 'publish-required', name: 'required', type: 'checkbox' });
  const form = h(
    'form',
    { class: 'card form-grid', onsubmit: submit },
    h('h2', {}, 'Publish a version'),
    h('label', { for: 'publish-product' }, 'Product'),
    product,
    h('label', { for: 'publish-version' }, 'Version'),
    version,
    h('label', { for: 'publish-required' }, 'Required update'),
    required,
    messages,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, 'Publish version')),
  );
  async function submit(event) {
    event.preventDefault();
    messages.replaceChildren();
    try {
      const body = { version: version.value.trim(), required: required.checked };
      await api(`products/${encodeURIComponent(product.value)}/versions`, { method: 'POST', body });
      go('/products', { published: body.version });
    } catch (err) {
      showFailure(err, messages);
    }
  }
  return form;
}

function createForm() {
  const messages = h('div', { class: 'messages' });
  const name = h('input', { id: 'product-name', name: 'name', required: true, pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]{0,99}', placeholder: 'my-app' });
  const seatMode = h('select', { id: 'product-seat-mode', name: 'seatMode' }, h('option', { value: 'node_locked' }, 'node-locked'), h('option', { value: 'floating' }, 'floating'));
  const form = h(
    'form',
    { class: 'card form-grid', onsubmit: submit },
    h('h2', {}, 'New product'),
    h('label', { for: 'product-name' }, 'Name'),
    name,
    h('label', { for: 'product-seat-mode' }, 'Seat mode'),
    seatMode,
    messages,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create product')),
  );
  async function submit(event) {
    event.preventDefault();
    messages.replaceChildren();
    try {
      const { product } = await api('products', { method: 'POST', body: { name: name.value.trim(), seatMode: seatMode.value } });
      go('/products', { created: product.name });
    } catch (err) {
      showFailure(err, messages);
    }
  }
  return form;
}
