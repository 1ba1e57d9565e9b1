import { api, can } from '../api.js';
import { h } from '../dom.js';
import { go } from '../router.js';
import { confirmAction, notice, pageHeader, showFailure } from '../ui.js';

/** Issues a code after a review step; the new code's page opens on success. */
export async function issuePage(section, params) {
  const { items: all } = await api('products');
  // A codes token issues for its own products only.
  const products = all.filter((p) => can('codes', p.name));
  if (!can('codes')) {
    section.append(
      pageHeader('Issue a code'),
      notice('info', 'Your token may not issue codes: it reads only. Ask for a token with the "codes" or "full" scope.'),
    );
    return;
  }
  if (products.length === 0) {
    section.append(pageHeader('Issue a code'), notice('info', 'Create a product first.'), h('p', {}, h('a', { href: '#/products' }, 'Products')));
    return;
  }
  const messages = h('div', { class: 'messages', 'aria-live': 'polite' });
  const product = h(
    'select',
    { id: 'issue-product', name: 'product', required: true },
    products.map((p) => h('option', { value: p.name, selected: p.name === params.get('product') }, p.name)),
  );
  const seats = h('input', { id: 'issue-seats', name: 'seats', type: 'number', min: 1, max: 100000, value: 1, required: true, inputmode: 'numeric' });
  const days = h('input', { id: 'issue-days', name: 'days', type: 'number', min: 1, max: 36500, value: 365, required: true, inputmode: 'numeric' });
  const features = h('input', { id: 'issue-features', name: 'features', placeholder: 'pro, export (comma-separated)', autocomplete: 'off' });
  const metadata = h('textarea', { id: 'issue-metadata', name: 'metadata', rows: 3, placeholder: '{ "customer": "ACME" }', spellcheck: 'false' });
  const test = h('input', { id: 'issue-test', name: 'test', type: 'checkbox' });
  const submitButton = h('button', { type: 'submit', class: 'primary' }, 'Review and issue');

  section.classList.add('narrow');
  section.append(
    pageHeader('Issue a code'),
    h(
      'form',
      { class: 'card form-grid', onsubmit: submit, novalidate: true },
      h('label', { for: 'issue-product' }, 'Product'),
      product,
      h('label', { for: 'issue-seats' }, 'Seats (machines at once)'),
      seats,
      h('label', { for: 'issue-days' }, 'Valid for (days)'),
      days,
      h('label', { for: 'issue-features' }, 'Features'),
      features,
      h('label', { for: 'issue-metadata' }, 'Metadata (JSON object, optional)'),
      metadata,
      h('label', { class: 'check' }, test, ' Test code (left out of usage figures)'),
      messages,
      h('div', { class: 'form-actions' }, h('a', { class: 'button secondary', href: '#/codes' }, 'Cancel'), submitButton),
    ),
  );

  async function submit(event) {
    event.preventDefault();
    messages.replaceChildren();
    const body = readForm();
    if (typeof body === 'string') return messages.append(notice('error', body));
    const ok = await confirmAction({
      title: 'Issue this code?',
      body: [
        `Product ${body.product}: ${body.seats} seat${body.seats === 1 ? '' : 's'}, valid for ${body.days} day${body.days === 1 ? '' : 's'}.`,
        body.features.length ? `Features: ${body.features.join(', ')}.` : 'No features.',
        body.test ? 'This is a test code.' : null,
      ].filter(Boolean),
      confirmLabel: 'Issue code',
    });
    if (!ok) return;
    submitButton.disabled = true;
    try {
      const { code } = await api('codes', { method: 'POST', body });
      go(`/codes/${encodeURIComponent(code.code)}`, { issued: '1' });
    } catch (err) {
      showFailure(err, messages);
    } finally {
      submitButton.disabled = false;
    }
  }

  /** The request body, or a message saying what is wrong. */
  function readForm() {
    const seatCount = Number(seats.value);
    const dayCount = Number(days.value);
    if (!Number.isInteger(seatCount) || seatCount < 1 || seatCount > 100000) return 'Seats must be a whole number from 1 to 100000.';
    if (!Number.isInteger(dayCount) || dayCount < 1 || dayCount > 36500) return 'Days must be a whole number from 1 to 36500.';
    const body = {
      product: product.value,
      seats: seatCount,
      days: dayCount,
      features: features.value
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean),
      test: test.checked,
    };
    if (metadata.value.trim()) {
      let parsed;
      try {
        parsed = JSON.parse(metadata.value);
      } catch {
        return 'Metadata is not valid JSON.';
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return 'Metadata must be a JSON object, such as { "customer": "ACME" }.';
      body.metadata = parsed;
    }
    return body;
  }
}
