// @ts-check
/** Prefetch: start a Hugging Face prefetch of a repository at a revision and watch its files, bytes and verdicts arrive. */
import { alertRegion, api, badge, base, bytes, count, field, h, table, time } from '../app.js';

const finished = ['Completed', 'Failed', 'Terminated'];

/** @param {import('../app.js').PageContext} page */
export default async function prefetch(page) {
  const errors = alertRegion();
  const repo = /** @type {HTMLInputElement} */ (h('input', { type: 'text', name: 'repo', required: true, placeholder: 'namespace/name', autocomplete: 'off' }));
  const revision = /** @type {HTMLInputElement} */ (h('input', { type: 'text', name: 'revision', value: 'main' }));
  const repoType = h('select', { name: 'repoType' }, h('option', { value: 'model' }, 'Model'), h('option', { value: 'dataset' }, 'Dataset'));
  const form = h('form', { class: 'filters', id: 'prefetch-form', 'aria-label': 'Start a prefetch' },
    field('Repository', repo), field('Revision', revision, 'A branch, tag or commit'), field('Type', repoType),
    h('button', { type: 'submit' }, 'Prefetch'));
  const progress = h('section', { 'aria-labelledby': 'progress-title', id: 'prefetch-progress' });
  page.main.append(h('h1', null, 'Prefetch'),
    h('p', { class: 'hint' }, 'Fetch and scan every file of a Hugging Face repository now, so that downloads later are served from the cache.'),
    form, errors.element, progress);

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let stopped = false;
  page.onLeave(() => {
    stopped = true;
    clearTimeout(timer);
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    page.busy();
    try {
      const started = await api('POST', 'admin/prefetch/hf', { json: { repo: repo.value.trim(), revision: revision.value.trim() || 'main', repoType: /** @type {HTMLSelectElement} */ (repoType).value } });
      history.replaceState(null, '', `${base}prefetch?id=${encodeURIComponent(started.id)}`);
      clearTimeout(timer);
      await poll(started.id);
    } catch (error) {
      errors.show(error);
    } finally {
      page.ready();
    }
  });

  /** @param {string} id */
  async function poll(id) {
    try {
      const report = await api('GET', `admin/prefetch/hf/${encodeURIComponent(id)}`);
      progress.replaceChildren(...view(report).filter((x) => x !== null));
      if (!finished.includes(report.status) && !stopped) {
        timer = setTimeout(() => void poll(id), 1000);
      }
    } catch (error) {
      errors.show(error);
    }
  }

  const id = page.query.get('id');
  if (id) {
    await poll(id);
  }
}

/** @param {any} r */
function view(r) {
  const p = r.progress ?? { files: 0, filesDone: 0, bytes: 0, bytesDone: 0 };
  const done = r.status === 'Completed';
  const percent = done ? 100 : p.bytes > 0 ? Math.floor((p.bytesDone / p.bytes) * 100) : p.files > 0 ? Math.floor((p.filesDone / p.files) * 100) : 0;
  const files = r.files ?? [];
  return [
    h('h2', { id: 'progress-title' }, `${r.repo ?? 'Repository'} @ ${r.revision ?? '?'}`),
    h('dl', { class: 'facts' },
      h('dt', null, 'Status'), h('dd', { id: 'prefetch-status' }, r.status),
      h('dt', null, 'Commit'), h('dd', { class: 'mono' }, r.commit ?? '—'),
      h('dt', null, 'Started'), h('dd', null, time(r.createdAt))),
    h('label', { for: 'prefetch-bar' }, 'Progress'),
    h('progress', { id: 'prefetch-bar', max: '100', value: String(percent) }, `${percent} %`),
    h('div', { role: 'status', 'aria-live': 'polite', id: 'prefetch-percent' },
      h('span', { class: 'percent' }, `${percent} %`),
      r.progress || done ? ` — ${count(p.filesDone)} of ${count(p.files)} files, ${bytes(p.bytesDone)} of ${bytes(p.bytes)}` : ' — listing the repository\'s files'),
    r.error ? h('div', { role: 'alert', class: 'alert' }, `The prefetch failed: ${r.error}`) : null,
    r.summary ? h('p', { id: 'prefetch-summary' }, 'Verdicts: ', Object.entries(r.summary).map(([decision, n], i) => [i ? ', ' : '', badge(decision), ` ${n}`])) : null,
    files.length ? table('Every file with its verdict', ['Path', '#Size', 'Decision', 'Rule', 'Reason', 'sha256'],
      files.map((/** @type {any} */ f) => [h('code', null, f.path), bytes(f.size), badge(f.decision), h('code', null, f.rule ?? '—'), f.reason ?? '—',
        f.sha256 ? h('a', { href: `${base}artifacts/${f.sha256}`, class: 'mono' }, f.sha256.slice(0, 12) + '…') : '—'])) : null,
  ];
}
