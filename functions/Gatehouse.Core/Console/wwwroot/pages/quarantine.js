// @ts-check
/** The quarantine queue: every refused file, filtered by remote, rule, severity and age, sorted, each linked to its detail. */
import { alertRegion, api, badge, base, field, h, link, table, time } from '../app.js';

const ages = { '': 'Any time', '1h': 'Last hour', '1d': 'Last 24 hours', '7d': 'Last 7 days', '30d': 'Last 30 days' };
const ageHours = { '1h': 1, '1d': 24, '7d': 24 * 7, '30d': 24 * 30 };

/** @param {import('../app.js').PageContext} page */
export default async function quarantine(page) {
  const q = page.query;
  const errors = alertRegion();
  /** @param {string} name @param {Record<string, string>} options */
  const select = (name, options) => h('select', { name }, Object.entries(options).map(([value, text]) => h('option', { value, selected: q.get(name) === value }, text)));
  const form = h('form', { class: 'filters', 'aria-label': 'Filter the quarantine' },
    field('Ecosystem', select('remote', { '': 'All', pypi: 'PyPI', hf: 'Hugging Face', uploads: 'Uploads' })),
    field('Rule', h('input', { type: 'text', name: 'rule', value: q.get('rule') ?? '', placeholder: 'e.g. content-dangerous' })),
    field('Least severity', select('severity', { '': 'Any', Info: 'Info', Suspicious: 'Suspicious', Dangerous: 'Dangerous' })),
    field('Age', select('age', ages)),
    field('Sort by', select('sort', { decided: 'Newest first', severity: 'Worst first', subject: 'Name' })),
    h('button', { type: 'submit' }, 'Apply'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(/** @type {HTMLFormElement} */ (form));
    const next = new URLSearchParams();
    for (const [key, value] of data) {
      if (typeof value === 'string' && value !== '') {
        next.set(key, value);
      }
    }
    page.navigate(base + 'quarantine' + (next.size ? `?${next}` : ''));
  });
  const results = h('div');
  page.main.append(h('h1', null, 'Quarantine'), h('p', { class: 'hint' }, 'Files Gatehouse refused: quarantined (held for review) or blocked.'), form, errors.element, results);

  const limit = Math.min(1000, Math.max(1, Number(q.get('limit')) || 50));
  const age = /** @type {keyof typeof ageHours | null} */ (q.get('age'));
  const since = age && ageHours[age] ? new Date(Date.now() - ageHours[age] * 3_600_000).toISOString() : undefined;
  try {
    const list = await api('GET', 'admin/quarantine', {
      query: { remote: q.get('remote'), rule: q.get('rule'), severity: q.get('severity'), since, sort: q.get('sort') ?? 'decided', limit: String(limit) },
    });
    const items = list.items ?? [];
    const more = new URLSearchParams(q);
    more.set('limit', String(Math.min(1000, limit + 50)));
    results.append(h('div', null,
      h('p', { id: 'quarantine-count' }, `${items.length} refused file${items.length === 1 ? '' : 's'}${items.length >= limit ? ` (the first ${limit})` : ''}.`),
      table('Refused files', ['Decided', 'Remote', 'Subject', 'File', 'Decision', 'Rule', 'Policy rule', 'Severity', '#Findings'],
        items.map((/** @type {any} */ r) => [
          time(r.decidedAt), r.remote, r.subject, link(`quarantine/${r.sha256}`, r.file), badge(r.decision), h('code', null, r.rule), r.policyRule,
          r.severity ?? '—', String(r.findings),
        ]), 'Nothing matches: no refused file.'),
      items.length >= limit && limit < 1000 ? h('p', null, h('a', { href: `${base}quarantine?${more}` }, 'Show 50 more')) : null));
  } catch (error) {
    errors.show(error);
  }
}
