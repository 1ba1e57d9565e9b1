import { api, can, query } from '../api.js';
import { ago, fill, h, statusBadge, table, when } from '../dom.js';
import { confirmAction, errorNotice, notice, pageHeader, showFailure } from '../ui.js';

const REFRESH_MS = 10_000;
const AUDIT_PAGE = 20;
/** Components whose hash makes a good short name for a machine, best first. */
const HINT_COMPONENTS = ['hw.systemUuid', 'os.machineId', 'disk.bootSerial', 'hw.boardSerial'];

/** One code: its facts, the actions on it, its machines, usage reports and audit timeline. */
export async function codePage(section, codeParam, params) {
  let code = (await api(`codes/${encodeURIComponent(codeParam)}`)).code;
  const messages = h('div', { class: 'messages', 'aria-live': 'polite' });
  const facts = h('div', { class: 'card facts' });
  const actions = h('div', { class: 'card actions' });
  const machines = h('div', { class: 'card', id: 'machines' });
  const usage = h('div', { class: 'card', id: 'usage', hidden: true });
  const audit = h('div', { class: 'card', id: 'audit' });
  const refreshButton = h('button', { type: 'button', class: 'secondary', onclick: () => refresh() }, 'Refresh');

  if (params.get('issued')) {
    messages.append(notice('ok', 'Code issued. Give it to the customer; they type it once in the software to activate.'));
  }
  section.append(
    pageHeader(
      h('span', { class: 'mono code-title', id: 'code-value' }, code.code),
      copyButton(() => code.code),
      refreshButton,
    ),
    messages,
    h('div', { class: 'columns' }, facts, actions),
    machines,
    usage,
    audit,
  );

  let shownStatus = null;
  async function refresh() {
    refreshButton.disabled = true;
    try {
      code = (await api(`codes/${encodeURIComponent(code.id)}`)).code;
      const [activations] = await Promise.all([api(`codes/${encodeURIComponent(code.id)}/activations`), loadAudit(audit, code), loadUsage(usage, code)]);
      renderFacts(facts, code, activations.items);
      if (shownStatus !== code.status) renderActions(actions, code, messages, refresh);
      shownStatus = code.status;
      renderMachines(machines, activations.items);
    } catch (err) {
      showFailure(err, messages);
    } finally {
      refreshButton.disabled = false;
    }
  }
  await refresh();

  // Machines come and go while the page is open: refresh while it is shown.
  const timer = setInterval(() => {
    if (!section.isConnected) clearInterval(timer);
    else if (document.visibilityState === 'visible' && !document.querySelector('dialog[open]')) refresh();
  }, REFRESH_MS);
}

function copyButton(text) {
  const button = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(text());
          button.textContent = 'Copied';
        } catch {
          button.textContent = 'Copy failed: select the code';
        }
        setTimeout(() => (button.textContent = 'Copy'), 2000);
      },
    },
    'Copy',
  );
  return button;
}

function renderFacts(card, code, activations) {
  const used = activations.filter((a) => a.status === 'active').length;
  const metadata = Object.keys(code.metadata ?? {}).length
    ? h('pre', { class: 'json' }, JSON.stringify(code.metadata, null, 2))
    : h('span', { class: 'muted' }, 'none');
  fill(
    card,
    h('h2', {}, 'License'),
    h(
      'dl',
      {},
      fact('Status', [statusBadge(code.status), code.test ? h('span', { class: 'badge test' }, 'test') : null]),
      fact('Product', h('a', { href: `#/codes?product=${encodeURIComponent(code.product)}` }, code.product)),
      fact('Seats in use', h('span', { id: 'seats-used' }, `${used} of ${code.seats}`)),
      fact('Expires', [when(code.expiresAt), ' ', h('span', { class: 'muted' }, relativeDay(code.expiresAt))]),
      fact('First activated', when(code.firstActivatedAt)),
      fact('Issued', when(code.createdAt)),
      fact('Features', code.features.length ? code.features.map((f) => h('span', { class: 'chip' }, f)) : h('span', { class: 'muted' }, 'none')),
      fact('Metadata', metadata),
      fact('Id', h('span', { class: 'mono small' }, code.id)),
    ),
  );
}

function fact(label, value) {
  return [h('dt', {}, label), h('dd', {}, value)];
}

function relativeDay(iso) {
  const days = Math.round((Date.parse(iso) - Date.now()) / 86_400_000);
  if (days === 0) return '(today)';
  return days > 0 ? `(in ${days} day${days === 1 ? '' : 's'})` : `(${-days} day${days === -1 ? '' : 's'} ago)`;
}

/** The state changes this code's status allows, each behind a confirmation. */
function renderActions(card, code, messages, refresh) {
  const run = async (action, body, doneText) => {
    messages.replaceChildren();
    try {
      const result = await api(`codes/${encodeURIComponent(code.id)}/${action}`, { method: 'POST', body });
      await refresh();
      messages.append(notice('ok', result.changed ? doneText : 'No change: the code was already in that state.'));
    } catch (err) {
      showFailure(err, messages);
    }
  };
  const days = h('input', { id: 'renew-days', type: 'number', min: 1, max: 36500, value: 365, inputmode: 'numeric', 'aria-label': 'Days to add' });
  const released = code.status === 'released';
  const content = [h('h2', {}, 'Actions')];
  if (released) content.push(h('p', { class: 'muted' }, 'Released codes are final: no action applies any more.'));
  else if (!can('codes', code.product)) content.push(h('p', { class: 'muted', 'data-no-actions': '' }, 'Your token may not change this code.'));
  else {
    content.push(
      h(
        'div',
        { class: 'action-row' },
        h('label', { for: 'renew-days' }, 'Renew by'),
        days,
        h('span', {}, 'days'),
        h(
          'button',
          {
            type: 'button',
            class: 'primary',
            'data-action': 'renew',
            onclick: async () => {
              const n = Number(days.value);
              if (!Number.isInteger(n) || n < 1 || n > 36500) return fill(messages, notice('error', 'Days must be a whole number from 1 to 36500.'));
              if (
                await confirmAction({
                  title: `Renew ${code.code}?`,
                  body: [`Add ${n} day${n === 1 ? '' : 's'}, counted from the later of now and the current expiry.`, 'An expired code becomes alive again.'],
                  confirmLabel: 'Renew',
                })
              )
                await run('renew', { days: n }, `Code renewed by ${n} days.`);
            },
          },
          'Renew',
        ),
      ),
    );
    const buttons = [];
    // Freeze, unfreeze and release need a full token; renewal is the codes scope's too.
    const full = can('full');
    if (full && ['issued', 'alive', 'expired'].includes(code.status)) {
      buttons.push(
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            'data-action': 'freeze',
            onclick: async () => {
              if (
                await confirmAction({
                  title: `Freeze ${code.code}?`,
                  body: [
                    'Its machines keep their seats, but every heartbeat answers "frozen" without a lease token, so the software stops when its current lease runs out.',
                    'You can unfreeze it later.',
                  ],
                  confirmLabel: 'Freeze',
                })
              )
                await run('freeze', undefined, 'Code frozen.');
            },
          },
          'Freeze',
        ),
      );
    }
    if (full && code.status === 'frozen') {
      buttons.push(
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            'data-action': 'unfreeze',
            onclick: async () => {
              if (
                await confirmAction({
                  title: `Unfreeze ${code.code}?`,
                  body: ['It becomes usable again (or expired, if its date has passed meanwhile).'],
                  confirmLabel: 'Unfreeze',
                })
              )
                await run('unfreeze', undefined, 'Code unfrozen.');
            },
          },
          'Unfreeze',
        ),
      );
    }
    if (full)
      buttons.push(
        h(
          'button',
          {
            type: 'button',
            class: 'danger',
            'data-action': 'release',
            onclick: async () => {
              if (
                await confirmAction({
                  title: `Release ${code.code}?`,
                  body: [h('p', {}, h('strong', {}, 'This is final.')), 'Every seat is freed at once and the code can never be used again.'],
                  confirmLabel: 'Release for good',
                  danger: true,
                })
              )
                await run('release', undefined, 'Code released.');
            },
          },
          'Release',
        ),
      );
    content.push(h('div', { class: 'button-row' }, buttons));
  }
  fill(card, content);
}

function renderMachines(card, activations) {
  fill(
    card,
    h('h2', {}, `Machines (${activations.length})`),
    table(
      [
        { label: 'Machine', cell: (a) => machineCell(a) },
        { label: 'Environment', cell: (a) => environmentCell(a.environment) },
        { label: 'Activated', cell: (a) => when(a.createdAt) },
        {
          label: 'Last heartbeat',
          class: 'last-heartbeat',
          cell: (a) => [when(a.lastHeartbeatAt), a.status === 'active' ? h('span', { class: 'muted small block' }, ago(a.lastHeartbeatAt)) : null],
        },
        { label: 'Status', cell: (a) => [statusBadge(a.status), a.endedAt ? h('span', { class: 'muted small block' }, 'ended ', when(a.endedAt)) : null] },
        { label: 'Clone', class: 'clone-cell', cell: (a) => cloneCell(a) },
      ],
      activations,
      { empty: 'No machine has activated this code yet.', rowAttrs: (a) => ({ 'data-activation': a.id }) },
    ),
  );
}

/**
 * A clone (docs/fingerprint.md "Drift, re-enrolment and clones"): heartbeats of two machines took
 * turns on this activation, so its beats are refused; or it shares an anchor with another live machine.
 */
function cloneCell(a) {
  if (a.clonedAt) {
    return [
      h(
        'span',
        {
          class: 'badge clone',
          title:
            'Heartbeats of two machines took turns on this activation: its heartbeats are refused. Deactivate it; each machine activates with a seat of its own.',
        },
        'clone: beats refused',
      ),
      h('span', { class: 'muted small block' }, 'since ', when(a.clonedAt)),
    ];
  }
  if (a.cloneSuspect)
    return h('span', { class: 'badge clone', title: 'Its anchor component is also on another live machine that otherwise differs' }, 'suspected clone');
  return h('span', { class: 'muted' }, 'no');
}

/** First 8 hex of a component hash: enough to tell machines apart, never the whole hash. */
function machineCell(a) {
  const fingerprint = a.fingerprint ?? {};
  const component = HINT_COMPONENTS.find((c) => fingerprint[c]) ?? Object.keys(fingerprint).sort()[0];
  const value = component ? fingerprint[component] : null;
  const hash = Array.isArray(value) ? value[0] : value;
  const all = Object.entries(fingerprint)
    .map(([k, v]) => `${k} ${(Array.isArray(v) ? v : [v]).map((x) => String(x).slice(0, 8)).join(',')}`)
    .join('\n');
  return [
    h('span', { class: 'mono fingerprint-hint', title: all }, hash ? String(hash).slice(0, 8) : '–'),
    component ? h('span', { class: 'muted small' }, ` ${component}`) : null,
    // Ids are UUIDv7: the head is a timestamp, the tail tells machines apart.
    h('span', { class: 'muted small block mono', title: a.id }, `id …${a.id.slice(-8)}`),
  ];
}

function environmentCell(environment) {
  const entries = Object.entries(environment ?? {});
  if (entries.length === 0) return h('span', { class: 'muted' }, 'not reported');
  return h(
    'ul',
    { class: 'env' },
    entries.map(([k, v]) => h('li', {}, h('span', { class: 'env-key' }, `${k}:`), ' ', h('span', { class: 'env-value' }, v === null ? 'null' : String(v)))),
  );
}

async function loadAudit(card, code, cursor = null, list = null) {
  const page = await api(`audit${query({ code: code.id, limit: AUDIT_PAGE, cursor })}`);
  if (!list) {
    list = h('ol', { class: 'timeline' });
    fill(card, h('h2', {}, 'Audit timeline'), list);
  }
  if (!cursor && page.items.length === 0) list.append(h('li', { class: 'muted' }, 'No events.'));
  for (const e of page.items) {
    list.append(
      h(
        'li',
        { 'data-action': e.action },
        h('div', { class: 'timeline-head' }, h('strong', {}, e.action), ' ', h('span', { class: 'muted' }, 'by ', e.actor), ' · ', when(e.at)),
        changeSummary(e.before, e.after),
      ),
    );
  }
  card.querySelector('.more')?.remove();
  if (page.nextCursor) {
    card.append(
      h(
        'button',
        {
          type: 'button',
          class: 'secondary more',
          onclick: () => loadAudit(card, code, page.nextCursor, list).catch((err) => card.append(errorNotice(err))),
        },
        'Show older events',
      ),
    );
  }
}

/** "status: alive → frozen" for each field that changed (values that are not text as compact JSON). */
function changeSummary(before, after) {
  if (!before && !after) return null;
  const same = (k) => before && after && k in before && k in after && JSON.stringify(before[k]) === JSON.stringify(after[k]);
  const keys = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])].filter((k) => !same(k));
  if (keys.length === 0) return null;
  const show = (v) => (v === undefined ? '–' : typeof v === 'string' ? v : JSON.stringify(v));
  return h(
    'ul',
    { class: 'changes' },
    keys.map((k) => h('li', {}, h('span', { class: 'env-key' }, `${k}:`), ' ', before && k in before ? [show(before[k]), ' → '] : null, show(after?.[k]))),
  );
}

/**
 * What the software reported through the marketplace-compatible usage API (GET /v1/admin/usage).
 * A server without that route answers route_not_found, and then the section stays hidden.
 */
async function loadUsage(card, code) {
  let result;
  try {
    result = await api(`usage${query({ code: code.id, limit: 30 })}`);
  } catch (err) {
    if (err.code === 'route_not_found') {
      card.hidden = true;
      return;
    }
    if (err.status === 401) throw err;
    card.hidden = false;
    fill(card, h('h2', {}, 'Usage reports'), errorNotice(err));
    return;
  }
  card.hidden = false;
  const items = Array.isArray(result?.items) ? result.items : [];
  fill(
    card,
    h('h2', {}, 'Usage reports'),
    table(
      [
        { label: 'Day', cell: (r) => String(r.day ?? '–') },
        { label: 'Active clients', cell: (r) => (r.activeNum === null || r.activeNum === undefined ? '–' : String(r.activeNum)) },
        { label: 'Distinct client ids', cell: (r) => String(r.distinctIds ?? (Array.isArray(r.ids) ? r.ids.length : '–')) },
        { label: 'Reported', cell: (r) => when(r.reportedAt) },
      ],
      items,
      { empty: 'The software has reported no usage for this code.' },
    ),
  );
}
