// @ts-check
/**
 * One quarantined content: the artifact, where it is referenced and how each reference is decided, the findings from
 * its scan report, who first asked for it, who downloaded it, the reviewers' overrides and the audit; and the actions
 * (release with a reason and an expiry, block with a reason, re-scan), each followed by a reload so its audit row shows.
 */
import { alertRegion, api, badge, bytes, field, h, link, statusRegion, table, time } from '../app.js';

const severities = ['Info', 'Suspicious', 'Dangerous'];

/** @param {import('../app.js').PageContext} page */
export default async function quarantineDetail(page) {
  const [sha256] = page.params;
  const errors = alertRegion();
  const status = statusRegion();
  const heading = h('h1', null, 'Quarantined file');
  const summary = h('div');
  const details = h('div');
  const forms = actions(sha256, run);
  page.main.append(heading, status.element, errors.element, summary, forms, details);

  /** Runs an action, then reloads the detail (so the action's audit row and the new decisions show). @param {string} what @param {() => Promise<any>} action */
  async function run(what, action) {
    errors.clear();
    status.clear();
    page.busy();
    try {
      const outcome = await action();
      for (const reason of forms.querySelectorAll('input[name="reason"]')) {
        /** @type {HTMLInputElement} */ (reason).value = '';
      }
      await load();
      status.show(describe(what, outcome));
    } catch (error) {
      errors.show(error);
    } finally {
      page.ready();
    }
  }

  async function load() {
    const [shown, affected] = await Promise.allSettled([
      api('GET', `admin/quarantine/${sha256}`),
      api('GET', 'admin/audit/affected', { query: { artifact: sha256 } }),
    ]);
    if (shown.status === 'rejected') {
      errors.show(shown.reason);
      return;
    }
    const d = shown.value;
    const first = (d.references ?? [])[0];
    heading.textContent = first ? `${first.file}` : `Content ${sha256.slice(0, 12)}…`;
    const [top, rest] = view(d, affected.status === 'fulfilled' ? affected.value : null, affected.status === 'rejected' ? affected.reason : null);
    summary.replaceChildren(...top);
    details.replaceChildren(...rest);
  }

  await load();
}

/** @param {string} what @param {any} outcome */
function describe(what, outcome) {
  const decided = (outcome?.references ?? []).map((/** @type {any} */ r) => `${r.file}: ${r.decision ? `${r.decision.decision} (${r.decision.rule})` : 'decided at its next request'}`);
  return `${what} done.${decided.length ? ' ' + decided.join('; ') + '.' : ''}`;
}

/** @param {any} d @param {any} affected @param {any} affectedError */
function view(d, affected, affectedError) {
  const facts = d.facts;
  const references = d.references ?? [];
  const decision = references.map((/** @type {any} */ r) => r.decision).find(Boolean);
  return [[
    h('h2', null, 'Artifact'),
    h('dl', { class: 'facts' },
      h('dt', null, 'sha256'), h('dd', { class: 'mono' }, d.sha256),
      h('dt', null, 'Decision'), h('dd', null, decision ? [badge(decision.decision), ' by ', h('code', null, decision.rule)] : '—'),
      h('dt', null, 'Policy rule'), h('dd', { id: 'policy-rule' }, decision ? [h('code', null, decision.policyRule || 'default'), ` (policy ${decision.policyVersion})`] : '—'),
      h('dt', null, 'Reason'), h('dd', null, decision?.reason ?? '—'),
      h('dt', null, 'Worst severity'), h('dd', null, d.severity ?? 'no finding'),
      h('dt', null, 'Size'), h('dd', null, facts ? bytes(facts.size) : '—'),
      h('dt', null, 'Form'), h('dd', null, facts ? [facts.archive, facts.isWheel ? 'wheel' : null, facts.modelFormat].filter(Boolean).join(', ') || '—' : 'not scanned yet'),
      h('dt', null, 'Stored in'), h('dd', null, facts?.container ?? '—'),
      h('dt', null, 'Scanned'), h('dd', null, time(facts?.scannedAt)),
      h('dt', null, 'First requested'), h('dd', { id: 'first-requester' }, firstRequester(d.firstRequester))),
    h('h2', null, 'Findings'),
    findings(d),
  ], [
    h('h2', null, 'References'),
    table('Where this content is referenced, and the decision of each', ['Remote', 'Subject', 'File', 'Decision', 'Rule', 'Policy rule', 'Reason', 'Decided'],
      references.map((/** @type {any} */ r) => [r.remote, r.subject, r.file, badge(r.decision?.decision), h('code', null, r.decision?.rule ?? '—'),
        r.decision?.policyRule ?? '—', r.decision?.reason ?? '—', time(r.decision?.decidedAt)])),
    h('h2', null, 'Affected consumers'),
    affectedError ? h('p', { role: 'alert', class: 'alert' }, `The download report could not be loaded (${affectedError.message}).`) : consumers(affected),
    h('h2', null, 'Reviewers\' overrides'),
    table('Releases and blocks placed on this content', ['Decision', 'State', 'By', 'At', 'Expires', 'Reason'],
      (d.overrides ?? []).map((/** @type {any} */ o) => [badge(o.decision), o.state, o.by, time(o.at), time(o.expires), o.reason]), 'None.'),
    h('h2', null, 'Audit'),
    h('div', { id: 'audit' }, table('What happened to this content, oldest first', ['At', 'Action', 'By', 'Detail'],
      (d.audit ?? []).map((/** @type {any} */ e) => [time(e.at), h('code', null, e.action), who(e.extra), e.detail]), 'No audit row.')),
  ]];
}

/** @param {any} first */
function firstRequester(first) {
  if (!first) {
    return 'not in the audit';
  }
  const by = who(first.extra);
  return `${time(first.at)}: ${first.action} of ${first.subject}${by !== '—' ? ` by ${by}` : ''}`;
}

/** Who did an audited act: the token's name and id, and the address. @param {Record<string, string> | null | undefined} extra */
function who(extra) {
  if (!extra) {
    return '—';
  }
  const name = extra.tokenName ?? extra.TokenName;
  const id = extra.tokenId ?? extra.TokenId;
  const ip = extra.clientIp ?? extra.ClientIp;
  const parts = [name ?? id, name && id ? `(${id})` : null, ip ? `from ${ip}` : null].filter(Boolean);
  return parts.length ? parts.join(' ') : '—';
}

/** The findings as the report gives them: per check, with the archive member (path), the offset or line, and the message (a pickle's call chain). @param {any} d */
function findings(d) {
  /** @type {any[]} */
  const rows = [];
  const results = d.report?.results;
  if (Array.isArray(results)) {
    for (const result of results) {
      for (const f of result.findings ?? []) {
        rows.push({ ...f, check: f.check ?? result.check });
      }
      if (result.error) {
        rows.push({ rule: 'check.failed', severity: 'Suspicious', check: result.check, message: result.error });
      }
    }
  } else {
    rows.push(...(d.facts?.findings ?? []));
  }
  const severity = (/** @type {any} */ v) => (typeof v === 'number' ? severities[v] ?? String(v) : v);
  return h('div', { id: 'findings' }, table('What the scan found', ['Rule', 'Severity', 'Check', 'Where', 'What'],
    rows.map((f) => [h('code', null, f.rule), severity(f.severity), f.check ?? '—',
      where(f),
      h('span', { class: 'finding-message' }, f.message)]),
    d.facts ? 'No finding.' : 'Not scanned yet: refused before download, or being scanned.'));
}

/** The archive member and the offset a finding names, or a dash. @param {any} f */
function where(f) {
  const offset = f.offset === undefined || f.offset === null ? null : ` at offset ${f.offset}`;
  return f.path || offset ? [f.path ? h('code', null, f.path) : null, offset] : '—';
}

/** @param {any} affected */
function consumers(affected) {
  const list = affected?.consumers ?? [];
  return table('Tokens that downloaded this content', ['Token', 'Addresses', 'First download', 'Last download', '#Downloads'],
    list.map((/** @type {any} */ c) => [c.tokenName ? `${c.tokenName} (${c.tokenId})` : c.tokenId ?? 'no token', (c.clientIps ?? []).join(', ') || '—',
      time(c.firstDownload), time(c.lastDownload), String(c.downloadCount)]), 'Nobody downloaded it.');
}

/** The reviewer's actions. @param {string} sha256 @param {(what: string, action: () => Promise<any>) => Promise<void>} run */
function actions(sha256, run) {
  const inAWeek = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const releaseReason = /** @type {HTMLInputElement} */ (h('input', { type: 'text', name: 'reason', required: true, autocomplete: 'off' }));
  const expires = /** @type {HTMLInputElement} */ (h('input', { type: 'date', name: 'expires', required: true, value: inAWeek, min: tomorrow }));
  const release = h('form', { 'aria-labelledby': 'release-title', id: 'release-form' },
    h('h3', { id: 'release-title' }, 'Release'),
    h('p', { class: 'hint' }, 'Allow this content everywhere until the expiry. You answer for it.'),
    field('Reason (required)', releaseReason), field('Expires on (UTC)', expires),
    h('p', null, h('button', { type: 'submit' }, 'Release')));
  release.addEventListener('submit', (event) => {
    event.preventDefault();
    void run('Release', () => api('POST', `admin/quarantine/${sha256}/release`, { json: { reason: releaseReason.value, expires: expires.value } }));
  });

  const blockReason = /** @type {HTMLInputElement} */ (h('input', { type: 'text', name: 'reason', required: true, autocomplete: 'off' }));
  const block = h('form', { 'aria-labelledby': 'block-title', id: 'block-form' },
    h('h3', { id: 'block-title' }, 'Block'),
    h('p', { class: 'hint' }, 'Refuse this content everywhere until the block is lifted.'),
    field('Reason (required)', blockReason),
    h('p', null, h('button', { type: 'submit', class: 'danger' }, 'Block')));
  block.addEventListener('submit', (event) => {
    event.preventDefault();
    void run('Block', () => api('POST', `admin/quarantine/${sha256}/block`, { json: { reason: blockReason.value } }));
  });

  const rescan = h('form', { 'aria-labelledby': 'rescan-title', id: 'rescan-form' },
    h('h3', { id: 'rescan-title' }, 'Re-scan'),
    h('p', { class: 'hint' }, 'Forget the findings and scan the content again; the new decision follows when the scan ends.'),
    h('p', null, h('button', { type: 'submit' }, 'Re-scan')));
  rescan.addEventListener('submit', (event) => {
    event.preventDefault();
    void run('Re-scan', () => api('POST', `admin/quarantine/${sha256}/rescan`, { json: {} }));
  });

  return h('section', { 'aria-labelledby': 'actions-title' }, h('h2', { id: 'actions-title' }, 'Actions'),
    h('div', { class: 'actions' }, release, block, rescan),
    h('p', null, link(`artifacts/${sha256}`, 'Verdict history of this content')));
}
