import { api, query, can } from '../api.js';
import { h, statusBadge, table, when } from '../dom.js';
import { go } from '../router.js';
import { confirmAction, notice, pageHeader, showFailure } from '../ui.js';

const STATUSES = [
  ['failed', 'Failed (given up)'],
  ['pending', 'Owed'],
  ['delivered', 'Delivered'],
];

/**
 * What licensor owes other systems: the marketplace (order queries, license uploads, usage pushes)
 * and webhook endpoints (deliveries). Counts per kind and status, then the entries of one status, newest first; a failed one can be retried.
 */
export async function outboxPage(section, params) {
  const status = STATUSES.find(([key]) => key === params.get('status'))?.[0] ?? 'failed';
  const [summary, page] = await Promise.all([api('outbox/summary'), api(`outbox${query({ status, limit: 50 })}`)]);
  const place = h('div', { class: 'notices' });

  const statusSelect = h(
    'select',
    { id: 'outbox-status', onchange: () => go('/marketplace', { status: statusSelect.value }) },
    STATUSES.map(([key, label]) => h('option', { value: key, selected: key === status }, label)),
  );

  async function retry(entry) {
    const confirmed = await confirmAction({
      title: 'Try this call again?',
      body: [`${entry.kind} to ${entry.target}`, `Last error: ${entry.lastError ?? 'none'}`, 'It becomes due now, with its attempts counted from zero.'],
      confirmLabel: 'Try again',
    });
    if (!confirmed) return;
    try {
      await api(`outbox/${encodeURIComponent(entry.id)}/retry`, { method: 'POST' });
      go('/marketplace', { status: 'pending' });
    } catch (err) {
      showFailure(err, place);
    }
  }

  section.append(
    pageHeader(
      'Calls licensor owes: the marketplace and webhooks',
      h('button', { type: 'button', class: 'secondary', onclick: () => go('/marketplace', { status }) }, 'Refresh'),
    ),
    place,
    h(
      'div',
      { class: 'card', id: 'outbox-summary' },
      table(
        [
          { label: 'Kind', cell: (r) => h('span', { class: 'mono' }, r.kind) },
          { label: 'Status', cell: (r) => statusBadge(r.status) },
          { label: 'Entries', cell: (r) => String(r.count) },
          { label: 'Oldest', cell: (r) => when(r.oldestAt) },
        ],
        summary.items,
        { empty: 'Nothing owed, nothing failed. (licensor calls the marketplace only with LICENSOR_MARKETPLACE_AKSK set.)' },
      ),
    ),
    h('div', { class: 'toolbar' }, h('label', { for: 'outbox-status', class: 'inline' }, 'Show', statusSelect)),
    h(
      'div',
      { class: 'card', id: 'outbox-entries' },
      table(
        [
          { label: 'Kind', cell: (e) => h('span', { class: 'mono' }, e.kind) },
          { label: 'Target', cell: (e) => h('span', { class: 'mono small' }, e.target) },
          { label: 'Attempts', cell: (e) => String(e.attempts) },
          { label: status === 'delivered' ? 'Delivered' : 'Next attempt', cell: (e) => when(status === 'delivered' ? e.deliveredAt : e.nextAttemptAt) },
          { label: 'Last error', cell: (e) => (e.lastError ? h('span', { class: 'small' }, e.lastError) : h('span', { class: 'muted' }, '–')) },
          {
            label: '',
            cell: (e) =>
              e.status === 'failed' && can('full') ? h('button', { type: 'button', class: 'secondary', onclick: () => retry(e) }, 'Try again') : null,
          },
        ],
        page.items,
        { empty: status === 'failed' ? 'No call has failed.' : 'None.', rowAttrs: (e) => ({ 'data-entry': e.id }) },
      ),
      page.nextCursor ? notice('info', 'Showing the newest 50; `licensor outbox list --status …` pages through the rest.') : null,
    ),
    h(
      'p',
      { class: 'muted small' },
      'Owed calls are retried with waits that double, up to an hour apart, until LICENSOR_OUTBOX_GIVE_UP_HOURS have passed; a call the marketplace refuses fails at once. See docs/marketplace.md.',
    ),
  );
}
