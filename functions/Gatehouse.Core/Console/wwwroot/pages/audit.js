// @ts-check
/** Audit: search by artifact, token, action and time range, page through, and export the same query as CSV. */
import { alertRegion, api, base, field, h, root, table, time } from '../app.js';

const filters = ['artifact', 'token', 'action', 'from', 'to'];

/** @param {import('../app.js').PageContext} page */
export default async function audit(page) {
  const q = page.query;
  const errors = alertRegion();
  /** @type {Record<string, HTMLInputElement>} */
  const inputs = {
    artifact: /** @type {HTMLInputElement} */ (h('input', { type: 'text', name: 'artifact', value: q.get('artifact') ?? '', placeholder: 'sha256, project==1.0, org/repo' })),
    token: /** @type {HTMLInputElement} */ (h('input', { type: 'text', name: 'token', value: q.get('token') ?? '', placeholder: 'token id' })),
    action: /** @type {HTMLInputElement} */ (h('input', { type: 'text', name: 'action', value: q.get('action') ?? '', placeholder: 'download, decision, token.create' })),
    from: /** @type {HTMLInputElement} */ (h('input', { type: 'text', name: 'from', value: q.get('from') ?? '', placeholder: '2026-12-01 or 7d' })),
    to: /** @type {HTMLInputElement} */ (h('input', { type: 'text', name: 'to', value: q.get('to') ?? '', placeholder: '2026-12-04T12:00Z' })),
  };
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Search the audit' },
    field('Artifact', inputs.artifact), field('Token', inputs.token), field('Action', inputs.action),
    field('From', inputs.from, 'ISO date or time, or an age: 90m, 12h, 7d'), field('To', inputs.to),
    h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const name of filters) {
      if (inputs[name].value.trim()) {
        next.set(name, inputs[name].value.trim());
      }
    }
    page.navigate(base + 'audit' + (next.size ? `?${next}` : ''));
  });

  /** @type {Record<string, string>} */
  const query = {};
  for (const name of filters) {
    const value = q.get(name);
    if (value) {
      query[name] = value;
    }
  }
  const csv = new URLSearchParams({ ...query, format: 'csv', limit: '1000' });
  const results = h('div');
  const more = h('div');
  page.main.append(h('h1', null, 'Audit'), form,
    h('p', null, h('a', { href: `${root}admin/audit?${csv}`, download: 'gatehouse-audit.csv', id: 'audit-csv' }, 'Export these records as CSV')),
    errors.element, results, more);

  /** @type {any[]} */
  const records = [];
  /** @param {string | undefined} continuation */
  async function load(continuation) {
    try {
      const found = await api('GET', 'admin/audit', { query: { ...query, limit: '100', continuation } });
      records.push(...(found.records ?? []));
      results.replaceChildren(
        h('p', { id: 'audit-count' }, `${records.length} record${records.length === 1 ? '' : 's'}, newest first.`),
        table('Audit records', ['At', 'Action', 'Subject', 'Artifact', 'Token', 'Address', 'Detail'],
          records.map((r) => [time(r.at), h('code', null, r.action), r.subject,
            r.artifact ? [r.artifact.remote, r.artifact.subject, r.artifact.fileName].filter(Boolean).join(' ') || r.artifact.sha256 : '—',
            r.tokenName ? `${r.tokenName} (${r.tokenId})` : r.tokenId ?? '—', r.clientIp ?? '—', r.detail]), 'No record matches.'));
      const button = found.continuation ? h('button', { type: 'button' }, 'Load more') : null;
      button?.addEventListener('click', async () => {
        page.busy();
        await load(found.continuation);
        page.ready();
      });
      more.replaceChildren(...(button ? [button] : []));
    } catch (error) {
      errors.show(error);
    }
  }
  await load(undefined);
}
