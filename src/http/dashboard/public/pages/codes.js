import { api, can, query } from '../api.js';
import { h, statusBadge, table, when } from '../dom.js';
import { go } from '../router.js';
import { pageHeader } from '../ui.js';

const STATUSES = ['issued', 'alive', 'expired', 'frozen', 'released'];
const PAGE_SIZE = 25;

/**
 * Codes, newest first, filtered by product, status, test flag and a code prefix. Paging follows
 * the API's keyset cursors; the cursors of earlier pages are kept in the URL so Back works.
 */
export async function codesPage(section, params) {
  const filters = {
    q: params.get('q') ?? '',
    status: params.get('status') ?? '',
    product: params.get('product') ?? '',
    test: params.get('test') ?? '',
  };
  const trail = (params.get('trail') ?? '').split('.').filter(Boolean);
  const cursor = trail[trail.length - 1];
  const [products, page] = await Promise.all([api('products'), api(`codes${query({ ...filters, limit: PAGE_SIZE, cursor })}`)]);

  const search = h('input', {
    id: 'code-search',
    name: 'q',
    type: 'search',
    value: filters.q,
    placeholder: 'Code prefix or id',
    maxlength: 64,
    autocomplete: 'off',
  });
  const status = h(
    'select',
    { id: 'code-status', name: 'status' },
    h('option', { value: '' }, 'Any status'),
    STATUSES.map((st) => h('option', { value: st, selected: st === filters.status }, st)),
  );
  const product = h(
    'select',
    { id: 'code-product', name: 'product' },
    h('option', { value: '' }, 'Any product'),
    products.items.map((p) => h('option', { value: p.name, selected: p.name === filters.product }, p.name)),
  );
  const test = h(
    'select',
    { id: 'code-test', name: 'test' },
    h('option', { value: '' }, 'Live and test'),
    h('option', { value: 'false', selected: filters.test === 'false' }, 'Live only'),
    h('option', { value: 'true', selected: filters.test === 'true' }, 'Test only'),
  );
  const apply = () => go('/codes', { q: search.value.trim(), status: status.value, product: product.value, test: test.value });
  for (const select of [status, product, test]) select.addEventListener('change', apply);

  const older = page.nextCursor ? () => go('/codes', { ...filters, trail: [...trail, page.nextCursor].join('.') }) : null;
  const newer = trail.length > 0 ? () => go('/codes', { ...filters, trail: trail.slice(0, -1).join('.') }) : null;

  section.append(
    pageHeader(
      'Codes',
      ...(can('codes')
        ? [h('a', { class: 'button primary', href: `#/codes/new${filters.product ? `?product=${encodeURIComponent(filters.product)}` : ''}` }, 'Issue a code')]
        : []),
    ),
    h(
      'form',
      { class: 'toolbar filters', role: 'search', onsubmit: (e) => (e.preventDefault(), apply()) },
      h('label', { for: 'code-search', class: 'visually-hidden' }, 'Search codes'),
      search,
      h('label', { for: 'code-status', class: 'visually-hidden' }, 'Status'),
      status,
      h('label', { for: 'code-product', class: 'visually-hidden' }, 'Product'),
      product,
      h('label', { for: 'code-test', class: 'visually-hidden' }, 'Test codes'),
      test,
      h('button', { type: 'submit', class: 'secondary' }, 'Search'),
    ),
    h(
      'div',
      { class: 'card' },
      table(
        [
          {
            label: 'Code',
            class: 'code-cell',
            cell: (c) => [
              h('a', { href: `#/codes/${encodeURIComponent(c.code)}`, class: 'mono' }, c.code),
              c.test ? h('span', { class: 'badge test' }, 'test') : null,
            ],
          },
          { label: 'Product', cell: (c) => c.product },
          { label: 'Status', cell: (c) => statusBadge(c.status) },
          { label: 'Seats', cell: (c) => String(c.seats) },
          { label: 'Expires', cell: (c) => when(c.expiresAt) },
          { label: 'Issued', cell: (c) => when(c.createdAt) },
        ],
        page.items,
        { empty: hasFilter(filters) ? 'No code matches these filters.' : 'No codes yet. Issue the first one.', rowAttrs: (c) => ({ 'data-code': c.code }) },
      ),
      h(
        'div',
        { class: 'pager' },
        h('button', { type: 'button', class: 'secondary', disabled: !newer, onclick: newer }, '← Newer'),
        h('span', { class: 'muted' }, `Page ${trail.length + 1}`),
        h('button', { type: 'button', class: 'secondary', disabled: !older, onclick: older }, 'Older →'),
      ),
    ),
  );
}

function hasFilter(filters) {
  return Object.values(filters).some((v) => v !== '');
}
