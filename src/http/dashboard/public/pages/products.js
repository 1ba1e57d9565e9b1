import { api, can } from '../api.js';
import { h, table, when } from '../dom.js';
import { go } from '../router.js';
import { confirmAction, notice, pageHeader, showFailure } from '../ui.js';

const duration = (seconds) =>
  seconds % 86_400 === 0 ? `${seconds / 86_400} d` : seconds % 3600 === 0 ? `${seconds / 3600} h` : seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;

/** The products, and a form to add one. */
export async function productsPage(section, params) {
  const { items } = await api('products');
  const created = params.get('created');
  const published = params.get('published');
  const changed = params.get('changed');
  section.append(
    pageHeader('Products'),
    created ? notice('ok', `Product ${created} created.`) : null,
    published ? notice('ok', `Version ${published} published: running clients hear of it with their next heartbeat.`) : null,
    changed ? notice('ok', `Policy of ${changed} changed: each machine follows it from its next heartbeat.`) : null,
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
            cell: (p) =>
              p.latestVersion ? [p.latestVersion, p.minimumVersion ? h('span', { class: 'muted' }, ` (required ≥ ${p.minimumVersion})`) : null] : '—',
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
    can('full') && items.length > 0 ? policyForm(items) : null,
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
  const seatMode = h(
    'select',
    { id: 'product-seat-mode', name: 'seatMode' },
    h('option', { value: 'node_locked' }, 'node-locked'),
    h('option', { value: 'floating' }, 'floating'),
  );
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

/** The settings a policy change may give (docs/policies.md "Changing a policy"), as form fields. */
const POLICY_FIELDS = [
  ['seatMode', 'Seat mode', ['node_locked', 'floating']],
  ['leaseSeconds', 'Lease (seconds)', 'number'],
  ['heartbeatIntervalSeconds', 'Heartbeat every (seconds)', 'number'],
  ['matchStrategy', 'Matching', ['exact', 'fuzzy', 'loose']],
  ['reclaim', 'Reclaim', ['eager', 'soft']],
  ['churnLimit', 'Churn limit (empty: none)', 'number'],
  ['churnPeriodSeconds', 'Churn period (seconds)', 'number'],
  ['fingerprintChangeWindowSeconds', 'Fingerprint change window (seconds)', 'number'],
  ['containers', 'Containers', ['refuse', 'instance']],
];

/** Changes a product's policy: only what differs from the product is sent, after a review of the changes. */
function policyForm(products) {
  const messages = h('div', { class: 'messages' });
  const product = h(
    'select',
    { id: 'policy-product', name: 'product', onchange: () => show() },
    ...products.map((p) => h('option', { value: p.name }, p.name)),
  );
  const inputs = Object.fromEntries(
    POLICY_FIELDS.map(([key, , kind]) => [
      key,
      Array.isArray(kind)
        ? h('select', { id: `policy-${key}`, name: key }, ...kind.map((v) => h('option', { value: v }, v)))
        : h('input', { id: `policy-${key}`, name: key, type: 'number', min: 1, inputmode: 'numeric' }),
    ]),
  );
  const current = () => products.find((p) => p.name === product.value);
  const show = () => {
    for (const [key, input] of Object.entries(inputs)) input.value = current()[key] === null ? '' : String(current()[key]);
  };
  const form = h(
    'form',
    { class: 'card form-grid', onsubmit: submit },
    h('h2', {}, 'Change a policy'),
    h('label', { for: 'policy-product' }, 'Product'),
    product,
    POLICY_FIELDS.map(([key, label]) => [h('label', { for: `policy-${key}` }, label), inputs[key]]),
    messages,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, 'Review and change')),
  );
  show();
  async function submit(event) {
    event.preventDefault();
    messages.replaceChildren();
    const before = current();
    const change = {};
    for (const [key, , kind] of POLICY_FIELDS) {
      const raw = inputs[key].value.trim();
      // Only the churn limit may be emptied (no limit); an empty other field is left as it is.
      if (raw === '' && key !== 'churnLimit') continue;
      const value = Array.isArray(kind) ? raw : raw === '' ? null : Number(raw);
      if (value !== before[key]) change[key] = value;
    }
    const keys = Object.keys(change);
    if (keys.length === 0) return messages.append(notice('info', 'Nothing to change: every setting already has that value.'));
    const shown = (v) => (v === null ? 'none' : String(v));
    if (
      !(await confirmAction({
        title: `Change the policy of ${before.name}?`,
        body: [
          ...keys.map((k) => `${k}: ${shown(before[k])} → ${shown(change[k])}`),
          'Machines already out there follow it from their next heartbeat; docs/policies.md "Changing a policy" says what each change does to them.',
        ],
        confirmLabel: 'Change policy',
      }))
    )
      return;
    try {
      await api(`products/${encodeURIComponent(before.name)}`, { method: 'PATCH', body: change });
      go('/products', { changed: before.name });
    } catch (err) {
      showFailure(err, messages);
    }
  }
  return form;
}
