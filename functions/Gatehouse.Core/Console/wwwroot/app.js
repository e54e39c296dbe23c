// @ts-check
/**
 * The Gatehouse console: a client of the admin API. This module holds the session (the CSRF token lives in this
 * variable only: never in storage, never in a URL), the API client, History API routing under /console/, and the DOM
 * helpers the pages share. Each page is a module under pages/ whose default export renders into <main>.
 */

/** The console's own path, e.g. "/console/" (from where this module was served). */
export const base = new URL('./', import.meta.url).pathname;
/** Where the admin API and the session endpoint live: the console's parent path. */
export const root = base.replace(/console\/$/, '');

/** @typedef {{name: string, tokenId: string, csrf: string, expires: string}} Session */

/** @type {Session | null} */
let session = null;

/** An admin API answer that was not a success, with the server's message. */
export class ApiError extends Error {
  /** @param {number} status @param {string} message @param {any} body */
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/**
 * Calls the API at `path` (relative to the Gatehouse root, e.g. "admin/tokens"). State-changing methods carry the
 * session's CSRF token. A JSON body is sent as JSON, a string as `contentType`. Answers parsed JSON (or null for 204).
 * @param {string} method
 * @param {string} path
 * @param {{json?: any, text?: string, contentType?: string, query?: Record<string, string | undefined | null>}} [options]
 * @returns {Promise<any>}
 */
export async function api(method, path, options = {}) {
  const url = new URL(root + path, location.origin);
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined && value !== null && value !== '') {
      url.searchParams.set(key, value);
    }
  }
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  /** @type {BodyInit | undefined} */
  let body;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.text !== undefined) {
    headers['Content-Type'] = options.contentType ?? 'text/plain; charset=utf-8';
    body = options.text;
  }
  if (method !== 'GET' && method !== 'HEAD' && session) {
    headers['X-CSRF-Token'] = session.csrf;
  }
  const response = await fetch(url, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  const type = response.headers.get('Content-Type') ?? '';
  const parsed = response.status === 204 ? null : type.includes('json') ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    const message = parsed && typeof parsed === 'object' && typeof parsed.error === 'string' ? parsed.error : typeof parsed === 'string' && parsed ? parsed : response.statusText;
    if (response.status === 401 && path.startsWith('admin/')) {
      session = null;
      showWho();
      navigate(base + 'signin?next=' + encodeURIComponent(location.pathname + location.search), true);
    }
    throw new ApiError(response.status, `${response.status} ${response.statusText || ''}`.trim() + `: ${message}`, parsed);
  }
  return parsed;
}

/** The signed-in session, or null. */
export const currentSession = () => session;

/** @param {Session | null} value */
export function setSession(value) {
  session = value;
  showWho();
}

/**
 * Builds an element: `h('a', {href: '/x', class: 'c'}, 'text', child)`. `on*` function props become listeners;
 * `value`, `checked` and `disabled` are set as properties (and as defaults); false/null/undefined props are left out.
 * @param {string} tag
 * @param {Record<string, any> | null} [props]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, props, ...children) {
  const element = document.createElement(tag);
  applyProps(element, props);
  append(element, children);
  return element;
}

/**
 * Builds an SVG element the same way.
 * @param {string} tag
 * @param {Record<string, any> | null} [props]
 * @param {...any} children
 * @returns {SVGElement}
 */
export function s(tag, props, ...children) {
  const element = /** @type {SVGElement} */ (document.createElementNS('http://www.w3.org/2000/svg', tag));
  applyProps(element, props);
  append(element, children);
  return element;
}

/** @param {Element} element @param {Record<string, any> | null | undefined} props */
function applyProps(element, props) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (key.startsWith('on') && typeof value === 'function') {
      element.addEventListener(key.slice(2), value);
    } else if (key === 'value' || key === 'checked' || key === 'disabled') {
      // The default too, so that a form's reset() returns to it.
      const control = /** @type {any} */ (element);
      if (key === 'value' && 'defaultValue' in control) {
        control.defaultValue = value;
      } else if (key === 'checked') {
        control.defaultChecked = value;
      }
      control[key] = value;
    } else {
      element.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

/** @param {Node} parent @param {any[]} children */
function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * A table with a caption and column headers (`<th scope="col">`); a header starting with "#" is right-aligned (numbers).
 * @param {string} caption
 * @param {string[]} headers
 * @param {any[][]} rows
 * @param {string} [empty] what to say when there are no rows
 */
export function table(caption, headers, rows, empty = 'Nothing to show.') {
  const numeric = headers.map((name) => name.startsWith('#'));
  const names = headers.map((name) => name.replace(/^#/, ''));
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: '0' },
    h('table', null,
      h('caption', null, caption),
      h('thead', null, h('tr', null, names.map((name, i) => h('th', { scope: 'col', class: numeric[i] ? 'num' : null }, name)))),
      h('tbody', null, rows.length === 0
        ? h('tr', null, h('td', { colspan: String(headers.length) }, empty))
        : rows.map((row) => h('tr', null, row.map((cell, i) => h('td', { class: numeric[i] ? 'num' : null }, cell)))))));
}

/** A labelled form control: `field('Reason', h('input', {...}))` (the input gets an id when it has none). */
let fieldCount = 0;
/** @param {string} label @param {HTMLElement} control @param {string} [hint] */
export function field(label, control, hint) {
  if (!control.id) {
    control.id = `f${++fieldCount}`;
  }
  const hintElement = hint ? h('span', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  if (hintElement) {
    control.setAttribute('aria-describedby', hintElement.id);
  }
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintElement);
}

/** A region for API errors (`role="alert"`); `show(error)` fills it, `clear()` empties it. */
export function alertRegion() {
  const element = h('div', { role: 'alert', class: 'alert' });
  return {
    element,
    /** @param {unknown} error */
    show(error) {
      element.textContent = error instanceof Error ? error.message : String(error);
    },
    clear() {
      element.textContent = '';
    },
  };
}

/** A polite live region for what an action did. */
export function statusRegion() {
  const element = h('div', { role: 'status', class: 'status', 'aria-live': 'polite' });
  return {
    element,
    /** @param {string} text */
    show(text) {
      element.textContent = text;
    },
    clear() {
      element.textContent = '';
    },
  };
}

/** A decision as a coloured badge (text, not colour alone, carries the meaning). @param {string | null | undefined} decision */
export function badge(decision) {
  const name = decision ?? 'unknown';
  const kind = ['allowed', 'quarantined', 'blocked'].includes(name.toLowerCase()) ? name.toLowerCase() : 'neutral';
  return h('span', { class: `badge ${kind}` }, name);
}

/** An ISO time as "2026-12-04 05:00:12 UTC". @param {string | null | undefined} iso */
export function time(iso) {
  if (!iso) {
    return '—';
  }
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** Bytes in binary units. @param {number | null | undefined} n */
export function bytes(n) {
  if (n === null || n === undefined) {
    return '—';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** A whole number with thousands separators. @param {number | null | undefined} n */
export const count = (n) => (n === null || n === undefined ? '—' : n.toLocaleString('en-US'));

/** A link to a console page. @param {string} path relative to /console/ @param {any} text */
export const link = (path, text) => h('a', { href: base + path }, text);

/** The first 12 hex digits of a sha256, with the whole in a title. @param {string} sha256 */
export const shortSha = (sha256) => h('span', { class: 'mono', title: sha256 }, sha256.slice(0, 12) + '…');

// ---------------------------------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------------------------------

/**
 * @typedef {object} PageContext
 * @property {HTMLElement} main the <main> element, emptied
 * @property {string[]} params the path's captured parts
 * @property {URLSearchParams} query
 * @property {(path: string, replace?: boolean) => void} navigate
 * @property {(fn: () => void) => void} onLeave runs when the page is left (timers)
 * @property {() => void} busy clears data-ready while the page reloads its data
 * @property {() => void} ready sets data-ready to the page's name again
 */

/** @type {{name: string, pattern: RegExp, module: string, title: string, nav: string, public?: boolean}[]} */
const routes = [
  { name: 'signin', pattern: /^signin$/, module: './pages/signin.js', title: 'Sign in', nav: '', public: true },
  { name: 'overview', pattern: /^$/, module: './pages/overview.js', title: 'Overview', nav: 'overview' },
  { name: 'quarantine', pattern: /^quarantine$/, module: './pages/quarantine.js', title: 'Quarantine', nav: 'quarantine' },
  { name: 'quarantine-detail', pattern: /^quarantine\/([0-9a-f]{64})$/, module: './pages/quarantine-detail.js', title: 'Quarantined file', nav: 'quarantine' },
  { name: 'artifacts', pattern: /^artifacts$/, module: './pages/artifacts.js', title: 'Artifacts', nav: 'artifacts' },
  { name: 'artifact-detail', pattern: /^artifacts\/([0-9a-f]{64})$/, module: './pages/artifact-detail.js', title: 'Artifact', nav: 'artifacts' },
  { name: 'tokens', pattern: /^tokens$/, module: './pages/tokens.js', title: 'Tokens', nav: 'tokens' },
  { name: 'audit', pattern: /^audit$/, module: './pages/audit.js', title: 'Audit', nav: 'audit' },
  { name: 'policy', pattern: /^policy$/, module: './pages/policy.js', title: 'Policy', nav: 'policy' },
  { name: 'prefetch', pattern: /^prefetch$/, module: './pages/prefetch.js', title: 'Prefetch', nav: 'prefetch' },
];

/** @type {(() => void)[]} */
let leaving = [];
let generation = 0;

/** Goes to a console path (pushState, or replaceState when `replace`) and renders it. @param {string} path @param {boolean} [replace] */
export function navigate(path, replace = false) {
  if (replace) {
    history.replaceState(null, '', path);
  } else {
    history.pushState(null, '', path);
  }
  void render();
}

async function render() {
  const mine = ++generation;
  for (const fn of leaving) {
    fn();
  }
  leaving = [];
  delete document.body.dataset.ready;
  const main = /** @type {HTMLElement} */ (document.getElementById('main'));
  const path = decodeURIComponent(location.pathname.startsWith(base) ? location.pathname.slice(base.length) : '').replace(/\/$/, '');
  const route = routes.find((r) => r.pattern.test(path));
  if (!route) {
    main.replaceChildren(h('h1', { tabindex: '-1' }, 'Not found'), h('p', null, 'No console page is at this address. ', link('', 'Go to the overview.')));
    markNav('');
    return;
  }
  if (!route.public && !session) {
    navigate(base + 'signin?next=' + encodeURIComponent(location.pathname + location.search), true);
    return;
  }
  document.title = `${route.title} · Gatehouse console`;
  markNav(route.nav);
  main.replaceChildren(h('h1', { tabindex: '-1' }, route.title), h('p', null, 'Loading…'));
  /** @type {PageContext} */
  const context = {
    main,
    params: /** @type {RegExpExecArray} */ (route.pattern.exec(path)).slice(1),
    query: new URLSearchParams(location.search),
    navigate,
    onLeave: (fn) => leaving.push(fn),
    busy: () => {
      delete document.body.dataset.ready;
    },
    ready: () => {
      if (mine === generation) {
        document.body.dataset.ready = route.name;
        // Time to interactive of the page, for measurements: performance.getEntriesByName('gatehouse-ready').
        performance.mark('gatehouse-ready', { detail: route.name });
      }
    },
  };
  try {
    const page = await import(route.module);
    if (mine !== generation) {
      return;
    }
    main.replaceChildren();
    await page.default(context);
  } catch (error) {
    main.replaceChildren(h('h1', { tabindex: '-1' }, route.title), h('div', { role: 'alert', class: 'alert' }, String(error instanceof Error ? error.message : error)));
  }
  if (mine !== generation) {
    return;
  }
  context.ready();
  const heading = main.querySelector('h1');
  if (heading && document.activeElement && document.activeElement !== document.body && !main.contains(document.activeElement)) {
    heading.setAttribute('tabindex', '-1');
    heading.focus();
  }
}

/** @param {string} name */
function markNav(name) {
  for (const a of document.querySelectorAll('nav[aria-label="Console"] a')) {
    if (a instanceof HTMLElement && a.dataset.page === name) {
      a.setAttribute('aria-current', 'page');
    } else {
      a.removeAttribute('aria-current');
    }
  }
}

function showWho() {
  const who = document.getElementById('who');
  const signout = document.getElementById('signout');
  if (who) {
    who.textContent = session ? `Signed in as ${session.name}` : '';
  }
  if (signout) {
    signout.hidden = !session;
  }
}

async function signOut() {
  try {
    await api('DELETE', 'console/session');
  } catch {
    // Signed out either way: the page forgets the session.
  }
  setSession(null);
  navigate(base + 'signin', true);
}

async function start() {
  try {
    setSession(await api('GET', 'console/session'));
  } catch {
    setSession(null);
  }
  document.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target.closest('a') : null;
    if (!target || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    const url = new URL(target.href, location.href);
    if (url.origin === location.origin && url.pathname.startsWith(base.replace(/\/$/, '')) && !target.hasAttribute('download') && !target.target) {
      event.preventDefault();
      navigate(url.pathname + url.search);
    }
  });
  window.addEventListener('popstate', () => void render());
  document.getElementById('signout')?.addEventListener('click', () => void signOut());
  await render();
}

void start();
