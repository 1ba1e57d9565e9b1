import { api, query } from '../api.js';
import { heartbeatChart, summarise } from '../chart.js';
import { h } from '../dom.js';
import { go } from '../router.js';
import { errorNotice, pageHeader } from '../ui.js';

const RANGES = [
  ['1h', '1 hour', 3_600_000],
  ['24h', '24 hours', 86_400_000],
  ['7d', '7 days', 7 * 86_400_000],
  ['30d', '30 days', 30 * 86_400_000],
];

/** Heartbeats and active seats over time, for all products or one. */
export async function overviewPage(section, params) {
  const range = RANGES.find(([key]) => key === params.get('range')) ?? RANGES[1];
  const product = params.get('product') ?? '';
  const products = (await api('products')).items;

  const productSelect = h(
    'select',
    { id: 'chart-product', onchange: () => go('/', { product: productSelect.value, range: range[0] }) },
    h('option', { value: '' }, 'All products'),
    products.map((p) => h('option', { value: p.name, selected: p.name === product }, p.name)),
  );
  const rangeButtons = h(
    'div',
    { class: 'segmented', role: 'group', 'aria-label': 'Time range' },
    RANGES.map(([key, label]) =>
      h('button', { type: 'button', 'aria-pressed': key === range[0] ? 'true' : 'false', onclick: () => go('/', { product, range: key }) }, label),
    ),
  );
  const summary = h('p', { class: 'chart-summary', id: 'chart-summary', 'aria-live': 'polite' }, 'Loading…');
  const chart = h('div', { class: 'chart-box' });
  section.append(
    pageHeader('Heartbeats and seats'),
    h(
      'div',
      { class: 'toolbar' },
      h('label', { for: 'chart-product', class: 'inline' }, 'Product', productSelect),
      rangeButtons,
      h('button', { type: 'button', class: 'secondary', onclick: () => go('/', { product, range: range[0] }) }, 'Refresh'),
    ),
    h('div', { class: 'card' }, summary, chart),
    h(
      'p',
      { class: 'muted small' },
      'Heartbeats are counted by every server process and written with its coalesced flush; active seats are sampled by the sweeper on each run. Minutes are kept for 90 days.',
    ),
  );
  if (products.length === 0) {
    summary.replaceChildren('No products yet. ', h('a', { href: '#/products' }, 'Create one'), ' to start.');
    return;
  }
  try {
    const from = new Date(Date.now() - range[2]).toISOString();
    const series = await api(`stats/heartbeats${query({ product, from })}`);
    summary.textContent = `Last ${range[1]}: ${summarise(series)}`;
    heartbeatChart(chart, series);
  } catch (err) {
    if (err.status === 401) throw err;
    summary.replaceChildren(errorNotice(err));
  }
}
