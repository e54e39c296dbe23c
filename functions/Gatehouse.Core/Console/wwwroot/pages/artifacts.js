// @ts-check
/** Artifacts: search by name, version, repository, sha256 (or a prefix of 8 or more hex digits) or token; each links to its verdict history. */
import { alertRegion, api, badge, base, bytes, field, h, link, table, time } from '../app.js';

/** @param {import('../app.js').PageContext} page */
export default async function artifacts(page) {
  const q = page.query.get('q') ?? '';
  const remote = page.query.get('remote') ?? '';
  const errors = alertRegion();
  const search = /** @type {HTMLInputElement} */ (h('input', { type: 'search', name: 'q', value: q, size: '40', placeholder: 'numpy, 1.26.4, org/model, 3f2a9c1e…, token id' }));
  const remoteSelect = h('select', { name: 'remote' },
    Object.entries({ '': 'All', pypi: 'PyPI', hf: 'Hugging Face', uploads: 'Uploads' }).map(([value, text]) => h('option', { value, selected: value === remote }, text)));
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Search artifacts' },
    field('Search', search, 'A project or repository, a file name, a version, a sha256 or its first 8+ hex digits, or a token id or name.'),
    field('Ecosystem', remoteSelect),
    h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (search.value.trim()) {
      next.set('q', search.value.trim());
    }
    if (/** @type {HTMLSelectElement} */ (remoteSelect).value) {
      next.set('remote', /** @type {HTMLSelectElement} */ (remoteSelect).value);
    }
    page.navigate(base + 'artifacts' + (next.size ? `?${next}` : ''));
  });
  const results = h('div');
  page.main.append(h('h1', null, 'Artifacts'), form, errors.element, results);
  try {
    const found = await api('GET', 'admin/artifacts', { query: { q, remote, limit: '100' } });
    const items = found.items ?? [];
    results.append(
      h('p', { id: 'artifact-count' }, `${items.length} artifact${items.length === 1 ? '' : 's'}${found.truncated ? ' (more match: narrow the search)' : ''}.`),
      table(q ? `Artifacts matching “${q}”` : 'The newest decisions', ['Decided', 'Remote', 'Subject', 'Version', 'File', '#Size', 'Decision', 'Rule'],
        items.map((/** @type {any} */ a) => [time(a.decidedAt), a.remote, a.subject, a.version ?? '—', link(`artifacts/${a.sha256}`, a.file), bytes(a.size),
          badge(a.decision), h('code', null, a.rule ?? '—')]), 'No artifact matches.'));
  } catch (error) {
    errors.show(error);
  }
}
