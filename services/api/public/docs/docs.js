// Renders /openapi.json as a plain reference page: operations by tag, their parameters, bodies,
// answers and schemas. No framework, nothing fetched but the document.
'use strict';

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'options'];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children.flat()) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : String(c));
  return node;
}

// Markdown-ish `code` spans only: text stays text.
function rich(text) {
  const out = el('span');
  String(text || '')
    .split(/(`[^`]*`)/)
    .forEach((part) => out.append(part.startsWith('`') && part.endsWith('`') && part.length > 1 ? el('code', {}, part.slice(1, -1)) : part));
  return out;
}

function resolve(doc, obj) {
  if (!obj || !obj.$ref) return obj;
  return obj.$ref
    .slice(2)
    .split('/')
    .reduce((o, k) => (o ? o[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), doc);
}

const CONSTRAINTS = [
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minItems',
  'maxItems',
  'default',
];

function describeType(s) {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  const t = Array.isArray(s.type) ? s.type.join(' | ') : s.type || (s.properties ? 'object' : 'any');
  const extra = CONSTRAINTS.filter((k) => s[k] !== undefined).map((k) => `${k}: ${JSON.stringify(s[k])}`);
  return extra.length ? `${t} (${extra.join(', ')})` : t;
}

function schemaNode(doc, s, depth) {
  if (!s || typeof s !== 'object') return el('span', { class: 'muted' }, 'any');
  if (s.$ref) {
    const name = s.$ref.split('/').pop();
    return el('a', { href: `#schema-${name}` }, name);
  }
  const line = el('span', {}, describeType(s));
  if (s.description) line.append(' — ', el('span', { class: 'muted' }, rich(s.description)));
  const list = el('ul');
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    if (s[key]) s[key].forEach((alt, i) => list.append(el('li', {}, el('span', { class: 'muted' }, `${key} ${i + 1}: `), schemaNode(doc, alt, depth + 1))));
  }
  const required = new Set(s.required || []);
  for (const [name, prop] of Object.entries(s.properties || {})) {
    list.append(el('li', {}, el('strong', {}, name), required.has(name) ? el('span', { class: 'req' }, '*') : '', ': ', schemaNode(doc, prop, depth + 1)));
  }
  if (s.items) list.append(el('li', {}, el('span', { class: 'muted' }, 'items: '), schemaNode(doc, s.items, depth + 1)));
  if (s.additionalProperties && typeof s.additionalProperties === 'object' && !s.properties) {
    list.append(el('li', {}, el('span', { class: 'muted' }, 'values: '), schemaNode(doc, s.additionalProperties, depth + 1)));
  }
  if (s.additionalProperties === false) list.append(el('li', { class: 'muted' }, 'no other fields'));
  return list.childNodes.length ? el('span', {}, line, list) : line;
}

function schemaBlock(doc, schema) {
  return el('div', { class: 'schema' }, schemaNode(doc, schema, 0));
}

function parameterTable(doc, params) {
  const rows = params
    .map((p) => resolve(doc, p))
    .map((p) =>
      el(
        'tr',
        {},
        el('td', {}, el('code', {}, p.name), p.required ? el('span', { class: 'req' }, '*') : ''),
        el('td', {}, p.in),
        el('td', {}, describeType(p.schema || {})),
        el('td', {}, rich(p.description)),
      ),
    );
  return el('table', {}, el('tr', {}, el('th', {}, 'name'), el('th', {}, 'in'), el('th', {}, 'schema'), el('th', {}, 'description')), rows);
}

function contentBlocks(doc, content) {
  return Object.entries(content || {}).map(([type, media]) =>
    el('div', {}, el('span', { class: 'muted' }, type), media.schema ? schemaBlock(doc, media.schema) : ''),
  );
}

function operation(doc, path, method, op, shared) {
  const id = `op-${method}-${path}`;
  const section = el('section', { class: 'op', id }, el('h3', {}, el('span', { class: `method ${method}` }, method), el('span', { class: 'path' }, path)));
  if (op.summary) section.append(el('p', {}, el('strong', {}, rich(op.summary))));
  if (op.description) section.append(el('p', {}, rich(op.description)));
  const security = op.security || doc.security || [];
  section.append(el('p', { class: 'muted' }, 'Auth: ', security.length ? security.map((s) => Object.keys(s).join(' + ')).join(' or ') : 'none'));
  const params = [...(shared || []), ...(op.parameters || [])];
  if (params.length) section.append(el('h4', {}, 'Parameters'), parameterTable(doc, params));
  if (op.requestBody) {
    const body = resolve(doc, op.requestBody);
    section.append(el('h4', {}, `Body${body.required ? '' : ' (optional)'}`), ...contentBlocks(doc, body.content));
  }
  section.append(el('h4', {}, 'Answers'));
  const table = el('table');
  for (const [status, r] of Object.entries(op.responses || {})) {
    const res = resolve(doc, r);
    const headers = Object.keys(res.headers || {});
    table.append(
      el(
        'tr',
        {},
        el('td', {}, el('strong', {}, status)),
        el(
          'td',
          {},
          rich(res.description),
          headers.length ? el('div', { class: 'muted' }, 'Headers: ', headers.join(', ')) : '',
          ...contentBlocks(doc, res.content),
        ),
      ),
    );
  }
  section.append(table);
  return section;
}

function render(doc) {
  document.title = `${doc.info.title} ${doc.info.version}`;
  document.getElementById('title').textContent = `${doc.info.title} ${doc.info.version} — OpenAPI ${doc.openapi}`;
  const content = document.getElementById('content');
  const toc = document.getElementById('toc');
  content.replaceChildren(el('p', {}, rich(doc.info.description)));
  const byTag = new Map((doc.tags || []).map((t) => [t.name, []]));
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      if (!item[method]) continue;
      const tag = (item[method].tags || ['other'])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([path, method, item[method], item.parameters]);
    }
  }
  for (const [tag, ops] of byTag) {
    toc.append(el('h3', {}, tag));
    content.append(el('h2', { id: `tag-${tag}` }, tag));
    for (const [path, method, op, shared] of ops) {
      toc.append(el('a', { href: `#op-${method}-${path}` }, `${method.toUpperCase()} ${path}`));
      content.append(operation(doc, path, method, op, shared));
    }
  }
  toc.append(el('h3', {}, 'schemas'));
  content.append(el('h2', { id: 'schemas' }, 'Schemas'));
  for (const [name, schema] of Object.entries(doc.components.schemas || {})) {
    toc.append(el('a', { href: `#schema-${name}` }, name));
    content.append(el('section', { class: 'op', id: `schema-${name}` }, el('h3', {}, name), schemaBlock(doc, schema)));
  }
  const security = doc.components.securitySchemes || {};
  content.append(
    el('h2', {}, 'Security schemes'),
    el(
      'table',
      {},
      Object.entries(security).map(([name, s]) =>
        el(
          'tr',
          {},
          el('td', {}, el('code', {}, name)),
          el('td', {}, `${s.type}${s.scheme ? ` ${s.scheme}` : ''}${s.name ? ` ${s.in} ${s.name}` : ''}`),
          el('td', {}, rich(s.description)),
        ),
      ),
    ),
  );
  if (location.hash) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
}

fetch('/openapi.json')
  .then((res) => (res.ok ? res.json() : Promise.reject(new Error(`/openapi.json answered ${res.status}`))))
  .then(render)
  .catch((err) => {
    document.getElementById('content').replaceChildren(el('p', { id: 'status' }, `Could not load the document: ${err.message}`));
  });
