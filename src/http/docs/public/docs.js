// Renders /openapi.json as a page: our own small code, no framework, nothing from another origin.
// Every string from the document is set as text, never parsed as HTML.

const main = document.getElementById('main');
const filter = document.getElementById('filter');

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

let components = {};

function resolveRef(schema) {
  if (schema && typeof schema.$ref === 'string') {
    const name = schema.$ref.replace('#/components/schemas/', '');
    return { ...(components[name] ?? {}), title: name };
  }
  return schema ?? {};
}

function typeName(schema) {
  const s = resolveRef(schema);
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.anyOf || s.oneOf) return (s.anyOf ?? s.oneOf).map(typeName).join(' | ');
  if (s.type === 'array') return `${typeName(s.items)}[]`;
  if (Array.isArray(s.type)) return s.type.join(' | ');
  if (s.type === 'object' && !s.properties && s.additionalProperties) return `{ [key]: ${typeName(s.additionalProperties)} }`;
  return s.type ?? s.title ?? 'any';
}

const CONSTRAINTS = [
  ['minLength', 'min length'],
  ['maxLength', 'max length'],
  ['minimum', '≥'],
  ['maximum', '≤'],
  ['minItems', 'min items'],
  ['maxItems', 'max items'],
  ['pattern', 'pattern'],
  ['format', 'format'],
  ['default', 'default'],
];

function constraints(schema) {
  const s = resolveRef(schema);
  const parts = [];
  for (const [key, label] of CONSTRAINTS) if (s[key] !== undefined) parts.push(`${label} ${typeof s[key] === 'string' ? s[key] : JSON.stringify(s[key])}`);
  if (s.propertyNames?.pattern) parts.push(`keys match ${s.propertyNames.pattern}`);
  return parts.length ? el('span', { class: 'constraint' }, ` (${parts.join('; ')})`) : null;
}

/** Children worth unfolding: an object's properties, array items that are objects, union members that are objects. */
function nested(schema, depth) {
  const s = resolveRef(schema);
  if (depth > 8) return null;
  if (s.type === 'object' && s.properties) return schemaTree(s, depth + 1);
  if (s.type === 'array' && s.items) return nested(s.items, depth);
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return nested(s.additionalProperties, depth);
  const members = s.anyOf ?? s.oneOf;
  if (members) {
    const rich = members.filter((m) => resolveRef(m).properties);
    if (rich.length)
      return el(
        'ul',
        { class: 'schema' },
        rich.map((m, i) => el('li', {}, el('span', { class: 'constraint' }, `variant ${i + 1}`), nested(m, depth))),
      );
  }
  return null;
}

function schemaTree(schema, depth = 0) {
  const s = resolveRef(schema);
  if (!s.properties) {
    return el(
      'ul',
      { class: 'schema root' },
      el(
        'li',
        {},
        el('span', { class: 'type' }, typeName(s)),
        constraints(s),
        s.description ? el('div', { class: 'desc' }, s.description) : null,
        nested(s, depth),
      ),
    );
  }
  const required = new Set(s.required ?? []);
  return el(
    'ul',
    { class: depth === 0 ? 'schema root' : 'schema' },
    Object.entries(s.properties).map(([name, prop]) =>
      el(
        'li',
        {},
        el('span', { class: 'prop' }, name),
        ' ',
        el('span', { class: 'type' }, typeName(prop)),
        required.has(name) ? el('span', { class: 'req' }, ' required') : null,
        constraints(prop),
        resolveRef(prop).description ? el('div', { class: 'desc' }, resolveRef(prop).description) : null,
        nested(prop, depth),
      ),
    ),
  );
}

function parametersTable(parameters) {
  return el(
    'table',
    {},
    el('thead', {}, el('tr', {}, el('th', {}, 'name'), el('th', {}, 'in'), el('th', {}, 'type'), el('th', {}, 'description'))),
    el(
      'tbody',
      {},
      parameters.map((p) =>
        el(
          'tr',
          {},
          el('td', {}, el('span', { class: 'prop' }, p.name), p.required ? el('span', { class: 'req' }, ' required') : null),
          el('td', {}, p.in),
          el('td', {}, el('span', { class: 'type' }, typeName(p.schema)), constraints(p.schema)),
          el('td', { class: 'desc' }, p.description ?? resolveRef(p.schema).description ?? ''),
        ),
      ),
    ),
  );
}

function content(body) {
  return Object.entries(body.content ?? {}).map(([type, media]) =>
    el('div', {}, el('div', { class: 'constraint' }, type), media.schema ? schemaTree(media.schema) : null),
  );
}

function operationView(path, method, op, schemes) {
  const security = (op.security ?? []).map((s) => Object.keys(s)[0]);
  const body = el('div', { class: 'body' });
  if (op.description) body.append(el('p', {}, op.description));
  if (security.length)
    body.append(el('p', { class: 'lock' }, 'Authentication: ', security.map((name) => `${name} — ${schemes[name]?.description ?? ''}`).join('; ')));
  if (op.parameters?.length) body.append(el('h4', {}, 'Parameters'), parametersTable(op.parameters));
  if (op.requestBody) body.append(el('h4', {}, op.requestBody.required ? 'Request body' : 'Request body (optional)'), ...content(op.requestBody));
  body.append(el('h4', {}, 'Responses'));
  for (const [status, response] of Object.entries(op.responses ?? {})) {
    body.append(el('div', {}, el('span', { class: 'status' }, status), ' ', response.description), ...content(response));
  }
  const details = el(
    'details',
    { class: 'op', id: op.operationId ?? `${method}-${path}` },
    el(
      'summary',
      {},
      el('span', { class: `method ${method}` }, method.toUpperCase()),
      el('span', { class: 'path' }, path),
      el('span', { class: 'summary' }, op.summary ?? ''),
      security.length ? el('span', { class: 'lock' }, '🔒') : null,
    ),
    body,
  );
  details.dataset.search = `${method} ${path} ${op.summary ?? ''}`.toLowerCase();
  return details;
}

function render(doc) {
  components = doc.components?.schemas ?? {};
  const schemes = doc.components?.securitySchemes ?? {};
  main.replaceChildren(
    el('h1', {}, `${doc.info.title} ${doc.info.version}`),
    el('p', { class: 'intro' }, doc.info.description ?? ''),
    el('p', { class: 'intro' }, `OpenAPI ${doc.openapi}`),
  );
  const byTag = new Map((doc.tags ?? []).map((t) => [t.name, { tag: t, ops: [] }]));
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item)) {
      const tag = op.tags?.[0] ?? 'Other';
      if (!byTag.has(tag)) byTag.set(tag, { tag: { name: tag }, ops: [] });
      byTag.get(tag).ops.push(operationView(path, method, op, schemes));
    }
  }
  for (const { tag, ops } of byTag.values()) {
    if (!ops.length) continue;
    const section = el('section', {}, el('h2', {}, tag.name), tag.description ? el('p', { class: 'tag-description' }, tag.description) : null, ops);
    main.append(section);
  }
  if (location.hash) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.setAttribute('open', '');
}

filter.addEventListener('input', () => {
  const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
  for (const op of main.querySelectorAll('details.op')) op.classList.toggle('hidden', !words.every((w) => op.dataset.search.includes(w)));
  for (const section of main.querySelectorAll('section')) section.classList.toggle('hidden', !section.querySelector('details.op:not(.hidden)'));
});

fetch('../openapi.json')
  .then((res) => {
    if (!res.ok) throw new Error(`the server answered ${res.status}`);
    return res.json();
  })
  .then(render)
  .catch((err) => main.replaceChildren(el('p', { class: 'error' }, `Could not load the API document: ${err.message}`)));
