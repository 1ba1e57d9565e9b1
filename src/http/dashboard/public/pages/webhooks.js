import { api, query } from '../api.js';
import { h, statusBadge, table, when } from '../dom.js';
import { go } from '../router.js';
import { confirmAction, notice, pageHeader, showFailure } from '../ui.js';

/**
 * Webhook endpoints (docs/webhooks.md): each one's state and failure streak, and a form to
 * register one, whose signing secret is shown once, here, right after.
 */
export async function webhooksPage(section) {
  const { items } = await api('webhooks');
  const messages = h('div', { class: 'messages', 'aria-live': 'polite' });
  const url = h('input', {
    id: 'webhook-url',
    name: 'url',
    type: 'url',
    placeholder: 'https://example.com/licensor-events',
    required: true,
    autocomplete: 'off',
  });
  const events = h('input', {
    id: 'webhook-events',
    name: 'events',
    value: '*',
    placeholder: 'code.*, activation.created (comma-separated)',
    autocomplete: 'off',
  });
  const description = h('input', { id: 'webhook-description', name: 'description', autocomplete: 'off' });

  async function add(event) {
    event.preventDefault();
    messages.replaceChildren();
    const body = {
      url: url.value.trim(),
      events: events.value
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean),
    };
    if (description.value.trim()) body.description = description.value.trim();
    try {
      const { endpoint, secret } = await api('webhooks', { method: 'POST', body });
      section.replaceChildren();
      await webhooksPage(section);
      section
        .querySelector('.messages')
        .append(
          notice('ok', `Endpoint ${endpoint.url} registered. Its signing secret, shown this once:`),
          h('p', {}, h('code', { id: 'webhook-secret', class: 'mono' }, secret)),
        );
    } catch (err) {
      showFailure(err, messages);
    }
  }

  section.append(
    pageHeader('Webhooks'),
    messages,
    h(
      'div',
      { class: 'card', id: 'webhook-endpoints' },
      table(
        [
          { label: 'URL', cell: (e) => h('a', { href: `#/webhooks/${encodeURIComponent(e.id)}`, class: 'mono small' }, e.url) },
          { label: 'Events', cell: (e) => h('span', { class: 'mono small' }, e.events.join(', ')) },
          { label: 'State', cell: (e) => statusBadge(e.enabled ? 'on' : 'off') },
          { label: 'Failing', cell: (e) => (e.failureStreak ? `${e.failureStreak} in a row` : h('span', { class: 'muted' }, '–')) },
          { label: 'Why off', cell: (e) => (e.disabledReason ? h('span', { class: 'small' }, e.disabledReason) : h('span', { class: 'muted' }, '–')) },
        ],
        items,
        { empty: 'No endpoint yet.', rowAttrs: (e) => ({ 'data-endpoint': e.id }) },
      ),
    ),
    h(
      'form',
      { class: 'card form-grid', id: 'webhook-add', onsubmit: add, novalidate: true },
      h('h2', {}, 'Register an endpoint'),
      h('label', { for: 'webhook-url' }, 'URL'),
      url,
      h('label', { for: 'webhook-events' }, 'Events'),
      events,
      h('label', { for: 'webhook-description' }, 'Description (optional)'),
      description,
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, 'Register')),
    ),
    h(
      'p',
      { class: 'muted small' },
      'Every audited event an endpoint takes is POSTed to it, signed (Licensor-Signature), retried with waits that double; an endpoint failing for LICENSOR_WEBHOOKS_DISABLE_AFTER_HOURS is switched off. See docs/webhooks.md.',
    ),
  );
}

/** One endpoint: switch it off or on, remove it, and its recent deliveries, each of which can be sent again. */
export async function webhookPage(section, id) {
  const [{ endpoint }, { items }] = await Promise.all([
    api(`webhooks/${encodeURIComponent(id)}`),
    api(`webhooks/${encodeURIComponent(id)}/deliveries${query({ limit: 50 })}`),
  ]);
  const place = h('div', { class: 'notices' });
  const again = () => go(`/webhooks/${encodeURIComponent(id)}`);

  async function change(body, question) {
    if (!(await confirmAction(question))) return;
    try {
      await api(`webhooks/${encodeURIComponent(id)}`, { method: 'PATCH', body });
      again();
    } catch (err) {
      showFailure(err, place);
    }
  }
  async function remove() {
    if (
      !(await confirmAction({
        title: 'Remove this endpoint?',
        body: [endpoint.url, 'What it still has pending is given up.'],
        confirmLabel: 'Remove',
        danger: true,
      }))
    )
      return;
    try {
      await api(`webhooks/${encodeURIComponent(id)}`, { method: 'DELETE' });
      go('/webhooks');
    } catch (err) {
      showFailure(err, place);
    }
  }
  async function resend(d) {
    const confirmed = await confirmAction({
      title: 'Send this delivery again?',
      body: [`${d.eventType ?? 'event'} ${d.eventId}`, 'The same event id and body go out again, after what the endpoint has pending.'],
      confirmLabel: 'Send again',
    });
    if (!confirmed) return;
    try {
      await api(`webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(d.entry.id)}/resend`, { method: 'POST' });
      again();
    } catch (err) {
      showFailure(err, place);
    }
  }

  const answer = (a) => {
    if (!a) return h('span', { class: 'muted' }, '–');
    if (a.statusCode === null) return h('span', { class: 'small' }, a.error ?? 'no answer');
    return h('span', { class: 'small' }, `HTTP ${a.statusCode}`, a.response ? ` · ${a.response.slice(0, 120)}` : '');
  };

  section.append(
    pageHeader(
      'Webhook endpoint',
      endpoint.enabled
        ? h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              onclick: () =>
                change({ enabled: false }, { title: 'Switch this endpoint off?', body: 'Nothing is owed to it while it is off.', confirmLabel: 'Switch off' }),
            },
            'Switch off',
          )
        : h(
            'button',
            {
              type: 'button',
              class: 'primary',
              onclick: () =>
                change(
                  { enabled: true },
                  {
                    title: 'Switch this endpoint on?',
                    body: 'Events from now on are sent to it; send given-up deliveries again one by one.',
                    confirmLabel: 'Switch on',
                  },
                ),
            },
            'Switch on',
          ),
      h('button', { type: 'button', class: 'danger', onclick: remove }, 'Remove'),
    ),
    place,
    h(
      'div',
      { class: 'card', id: 'webhook-endpoint' },
      h('p', {}, h('span', { class: 'mono' }, endpoint.url), ' ', statusBadge(endpoint.enabled ? 'on' : 'off')),
      h('p', { class: 'small' }, 'Events: ', h('span', { class: 'mono' }, endpoint.events.join(', '))),
      endpoint.description ? h('p', { class: 'small' }, endpoint.description) : null,
      endpoint.failureStreak ? notice('error', `${endpoint.failureStreak} failed deliveries in a row since ${endpoint.failingSince}.`) : null,
      endpoint.disabledReason ? notice('error', `Switched off: ${endpoint.disabledReason}`) : null,
    ),
    h('h2', {}, 'Recent deliveries'),
    h(
      'div',
      { class: 'card', id: 'webhook-deliveries' },
      table(
        [
          { label: 'Event', cell: (d) => h('span', { class: 'mono small' }, d.eventType ?? '?') },
          { label: 'Status', cell: (d) => statusBadge(d.entry.status) },
          { label: 'Attempts', cell: (d) => String(d.entry.attempts + (d.entry.status === 'delivered' ? 1 : 0)) },
          { label: 'Last attempt', cell: (d) => when(d.lastAttempt ? d.lastAttempt.at : null) },
          { label: 'Answer', cell: (d) => answer(d.lastAttempt) },
          {
            label: '',
            cell: (d) => (d.entry.status === 'pending' ? null : h('button', { type: 'button', class: 'secondary', onclick: () => resend(d) }, 'Send again')),
          },
        ],
        items,
        { empty: 'Nothing delivered yet.', rowAttrs: (d) => ({ 'data-delivery': d.entry.id }) },
      ),
    ),
  );
}
