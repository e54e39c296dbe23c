// @ts-check
/** Policy: the active policy with its version and rules, and a dry run of a pasted candidate showing what would change. */
import { alertRegion, api, badge, count, field, h, table, time } from '../app.js';

/** @param {import('../app.js').PageContext} page */
export default async function policy(page) {
  const errors = alertRegion();
  const active = h('div');
  const outcome = h('div', { id: 'dry-run', 'aria-live': 'polite' });
  const candidate = /** @type {HTMLTextAreaElement} */ (h('textarea', { name: 'candidate', spellcheck: 'false', required: true, rows: '18' }));
  const submit = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit' }, 'Dry run'));
  const form = h('form', { class: 'stack', 'aria-labelledby': 'candidate-title', id: 'dry-run-form' },
    h('h2', { id: 'candidate-title' }, 'Try a candidate'),
    field('Candidate policy (YAML)', candidate, 'Judged against every recorded file beside the active policy. Nothing is applied.'),
    h('div', null, submit));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    outcome.replaceChildren();
    submit.disabled = true;
    page.busy();
    try {
      const report = await api('POST', 'admin/policy/dry-run', { text: candidate.value, contentType: 'application/yaml; charset=utf-8' });
      outcome.replaceChildren(...dryRun(report));
    } catch (error) {
      const body = /** @type {any} */ (error)?.body;
      const lines = Array.isArray(body?.errors) ? body.errors.map((/** @type {any} */ e) => `\nline ${e.line}, column ${e.column}: ${e.message}`).join('') : '';
      errors.show(`${error instanceof Error ? error.message : error}${lines}`);
    } finally {
      submit.disabled = false;
      page.ready();
    }
  });
  page.main.append(h('h1', null, 'Policy'), errors.element, active, form, outcome);

  try {
    const p = await api('GET', 'admin/policy');
    candidate.value = p.text ?? '';
    active.append(...[
      h('dl', { class: 'facts' },
        h('dt', null, 'Name'), h('dd', null, p.name ?? '—'),
        h('dt', null, 'Version'), h('dd', { id: 'policy-version' }, h('code', null, p.version ?? '—')),
        h('dt', null, 'Source'), h('dd', null, p.source ?? '—'),
        h('dt', null, 'Loaded'), h('dd', null, time(p.loadedAt))),
      p.lastError ? h('div', { class: 'alert', role: 'alert' }, `The last policy offered (${p.lastError.version}, ${time(p.lastError.at)}) was refused:` +
        (p.lastError.errors ?? []).map((/** @type {any} */ e) => `\nline ${e.line}: ${e.message}`).join('')) : null,
      table('Rules, in the order they are asked', ['Rule', 'Action', '#Line'], (p.rules ?? []).map((/** @type {any} */ r) => [h('code', null, r.id), r.action, String(r.line)])),
      table('Exceptions', ['Exception', 'Owner', 'Expires', 'Reason'],
        (p.exceptions ?? []).map((/** @type {any} */ e) => [h('code', null, e.id), e.owner ?? '—', `${time(e.expires)}${e.expired ? ' (expired)' : ''}`, e.reason ?? '—']), 'None.'),
      h('details', null, h('summary', null, 'The active policy\'s text'), h('pre', { class: 'policy', tabindex: '0' }, p.text ?? '')),
    ].filter((x) => x !== null));
  } catch (error) {
    errors.show(error);
  }
}

/** @param {any} report */
function dryRun(report) {
  const changes = report.changes ?? [];
  return [
    h('h2', null, 'What would change'),
    h('p', { id: 'dry-run-summary' }, `${count(report.evaluated)} recorded files judged under ${report.currentVersion} (active) and ${report.candidateVersion} (candidate) at ${time(report.at)}: `
      + `${changes.length} would change.`),
    table('Files whose decision would change', ['Remote', 'Subject', 'File', 'Now', 'With the candidate', 'Scanned'],
      changes.map((/** @type {any} */ c) => [c.remote, c.subject, c.file,
        h('span', { class: 'diff-old' }, h('span', { class: 'visually-hidden' }, 'removed: '), '− ', badge(c.current.decision), ' ', h('code', null, c.current.rule)),
        h('span', { class: 'diff-new' }, h('span', { class: 'visually-hidden' }, 'added: '), '+ ', badge(c.candidate.decision), ' ', h('code', null, c.candidate.rule),
          c.candidate.reason ? h('div', { class: 'hint' }, c.candidate.reason) : null),
        c.contentScanned ? 'yes' : 'no (remote facts only)']), 'Nothing would change.'),
  ];
}
