// @ts-check
/** Overview: counts, verdicts per day (SVG chart with a table as its text alternative), latest refusals, cache and scans. */
import { alertRegion, api, badge, bytes, count, h, link, s, table, time } from '../app.js';

const kinds = /** @type {const} */ (['allowed', 'quarantined', 'blocked']);

/** @param {import('../app.js').PageContext} page */
export default async function overview(page) {
  const errors = alertRegion();
  const body = h('div');
  const updated = h('p', { class: 'hint', 'aria-live': 'off' });
  page.main.append(h('h1', null, 'Overview'), updated, errors.element, body);

  async function load() {
    try {
      const stats = await api('GET', 'admin/stats');
      errors.clear();
      body.replaceChildren(...view(stats));
      updated.textContent = `Figures as of ${time(stats.generatedAt)}; refreshed every 10 seconds.`;
    } catch (error) {
      errors.show(`The statistics could not be loaded (${error instanceof Error ? error.message : error}).`);
      if (!body.hasChildNodes()) {
        body.replaceChildren(...(await fallback()));
      }
    }
  }

  // The next refresh is asked 10 s after the last one answered, so slow answers never pile up.
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let left = false;
  const refresh = async () => {
    await load();
    if (!left) {
      timer = setTimeout(() => void refresh(), 10_000);
    }
  };
  page.onLeave(() => {
    left = true;
    clearTimeout(timer);
  });
  await refresh();
}

/** @param {any} stats */
function view(stats) {
  const a = stats.artifacts ?? {};
  const cache = stats.cache ?? {};
  const scans = stats.scans ?? {};
  const ratio = cache.hitRatio === null || cache.hitRatio === undefined ? 'no lookups yet' : `${(cache.hitRatio * 100).toFixed(1)} %`;
  return [
    h('h2', null, 'Cached artifacts'),
    h('dl', { class: 'cards', id: 'counts' },
      card('Artifacts', count(a.count), 'artifacts'),
      card('Bytes', bytes(a.bytes), 'bytes'),
      card('Allowed', count(a.allowed), 'allowed'),
      card('Quarantined', count(a.quarantined), 'quarantined'),
      card('Blocked', count(a.blocked), 'blocked'),
      card('Cache hit ratio', ratio, 'hit-ratio'),
      card('Scans running', count(scans.running), 'scans-running'),
      card('Requests waiting for a scan', count(scans.waiting), 'scans-waiting')),
    h('p', { class: 'hint' }, `Cache: ${count(cache.hits)} hits, ${count(cache.misses)} misses since ${time(cache.since)} (this instance).`),
    h('h2', { id: 'chart-title' }, 'Verdicts per day (last 30 days, UTC)'),
    chart(stats.verdictsByDay ?? []),
    h('details', null,
      h('summary', null, 'Verdicts per day as a table'),
      table('Verdicts per day', ['Day', '#Allowed', '#Quarantined', '#Blocked'],
        (stats.verdictsByDay ?? []).map((/** @type {any} */ d) => [d.day, count(d.allowed), count(d.quarantined), count(d.blocked)]))),
    h('h2', null, 'Latest refusals'),
    refusals(stats.latestRefusals ?? []),
  ];
}

/** @param {string} label @param {string} value @param {string} id */
const card = (label, value, id) => h('div', null, h('dt', null, label), h('dd', { 'data-count': id }, value));

/** @param {any[]} items */
function refusals(items) {
  return table('The ten newest refused files', ['Decided', 'Remote', 'Subject', 'File', 'Decision', 'Rule', 'Policy rule'],
    items.map((r) => [time(r.decidedAt), r.remote, r.subject, link(`quarantine/${r.sha256}`, r.file), badge(r.decision), h('code', null, r.rule), r.policyRule]),
    'Nothing refused.');
}

/** Stacked bars of allowed, quarantined and blocked per day, drawn with the DOM (no inline styles). @param {any[]} days */
function chart(days) {
  const width = 1000;
  const height = 200;
  const left = 36;
  const bottom = 22;
  const top = 8;
  const max = Math.max(1, ...days.map((d) => kinds.reduce((sum, k) => sum + (d[k] ?? 0), 0)));
  const slot = (width - left) / Math.max(1, days.length);
  const scale = (height - bottom - top) / max;
  const total = days.reduce((sum, d) => sum + kinds.reduce((t, k) => t + (d[k] ?? 0), 0), 0);
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'chart-title chart-desc' },
    s('desc', { id: 'chart-desc' }, `${total} decisions over ${days.length} days, at most ${max} on one day. The table below gives every day's figures.`),
    s('line', { x1: left, x2: width, y1: height - bottom, y2: height - bottom }),
    s('text', { x: 0, y: top + 10 }, String(max)),
    s('text', { x: 0, y: height - bottom }, '0'));
  days.forEach((d, i) => {
    let y = height - bottom;
    for (const kind of kinds) {
      const value = d[kind] ?? 0;
      if (value > 0) {
        const barHeight = value * scale;
        y -= barHeight;
        svg.append(s('rect', { class: kind, x: (left + i * slot + slot * 0.15).toFixed(1), y: y.toFixed(1), width: (slot * 0.7).toFixed(1), height: barHeight.toFixed(1) },
          s('title', null, `${d.day}: ${value} ${kind}`)));
      }
    }
    if (i % 5 === 0 || i === days.length - 1) {
      svg.append(s('text', { x: (left + i * slot).toFixed(1), y: height - 6 }, String(d.day).slice(5)));
    }
  });
  return h('div', { class: 'chart' }, svg,
    h('ul', { class: 'legend', 'aria-hidden': 'true' }, kinds.map((k) => h('li', null, h('span', { class: `swatch ${k}` }), k[0].toUpperCase() + k.slice(1)))));
}

/** Without /admin/stats: the newest refusals from the quarantine list, so the page still helps. */
async function fallback() {
  try {
    const list = await api('GET', 'admin/quarantine', { query: { sort: 'decided', limit: '10' } });
    return [h('h2', null, 'Latest refusals'), refusals(list.items ?? [])];
  } catch {
    return [];
  }
}
