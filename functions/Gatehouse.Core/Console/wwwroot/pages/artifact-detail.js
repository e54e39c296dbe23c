// @ts-check
/** One content's verdict history: its references' decisions now, and every decision and review act the audit holds, across rescans. */
import { alertRegion, api, badge, bytes, h, link, table, time } from '../app.js';

const historyActions = /^(decision|decision\.metadata|quarantine\..+|prefetch)$/;

/** @param {import('../app.js').PageContext} page */
export default async function artifactDetail(page) {
  const [sha256] = page.params;
  const errors = alertRegion();
  const heading = h('h1', null, 'Artifact');
  page.main.append(heading, errors.element);
  try {
    const d = await api('GET', `admin/quarantine/${sha256}`);
    const references = d.references ?? [];
    heading.textContent = references[0]?.file ?? `Content ${sha256.slice(0, 12)}…`;
    const history = (d.audit ?? []).filter((/** @type {any} */ e) => historyActions.test(e.action));
    page.main.append(
      h('dl', { class: 'facts' },
        h('dt', null, 'sha256'), h('dd', { class: 'mono' }, sha256),
        h('dt', null, 'Size'), h('dd', null, bytes(d.facts?.size ?? references[0]?.size)),
        h('dt', null, 'Scanned'), h('dd', null, time(d.facts?.scannedAt)),
        h('dt', null, 'Worst severity'), h('dd', null, d.severity ?? 'no finding')),
      h('h2', null, 'Decisions now'),
      table('Every reference to this content', ['Remote', 'Subject', 'File', 'Decision', 'Rule', 'Policy', 'Decided'],
        references.map((/** @type {any} */ r) => [r.remote, r.subject, r.file, badge(r.decision?.decision), h('code', null, r.decision?.rule ?? '—'),
          r.decision ? `${r.decision.policyRule || 'default'} (${r.decision.policyVersion})` : '—', time(r.decision?.decidedAt)])),
      h('h2', null, 'Verdict history'),
      h('div', { id: 'history' }, table('Decisions and reviewers\' acts, oldest first', ['At', 'Action', 'Detail'],
        history.map((/** @type {any} */ e) => [time(e.at), h('code', null, e.action), e.detail]), 'No decision is in the audit.')),
      h('p', null, link(`quarantine/${sha256}`, 'Review this content (findings, release, block, re-scan)')));
  } catch (error) {
    errors.show(error);
  }
}
