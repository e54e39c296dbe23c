// @ts-check
/** Tokens: the list with limits and usage, create (the secret shown once, with pip, Hugging Face and container login settings to paste), revoke with a confirmation. */
import { alertRegion, api, bytes, count, field, h, root, statusRegion, table, time } from '../app.js';

const scopes = [
  ['pypi:read', 'PyPI (pip)'],
  ['hf:read', 'Hugging Face'],
  ['oci:read', 'Container images (podman, skopeo, docker)'],
  ['uploads:write', 'Uploads'],
  ['admin', 'Admin (the console and admin API)'],
];

/** @param {import('../app.js').PageContext} page */
export default async function tokens(page) {
  const errors = alertRegion();
  const status = statusRegion();
  const secretSlot = h('div');
  const list = h('div');
  page.main.append(h('h1', null, 'Tokens'), status.element, errors.element, secretSlot, createForm(), h('h2', null, 'All tokens'), list);

  async function load() {
    try {
      const all = await api('GET', 'admin/tokens');
      list.replaceChildren(view(all));
    } catch (error) {
      errors.show(error);
    }
  }

  /** @param {any[]} all */
  function view(all) {
    return table('Tokens, oldest first', ['Name', 'Id', 'Scopes', 'Created', 'Expires', 'Limits', 'Usage', 'State', 'Actions'],
      all.map((t) => [
        t.name, h('code', null, t.id), (t.scopes ?? []).join(', '), time(t.createdAt), time(t.expiresAt),
        [t.maxDownloads !== undefined ? `${count(t.maxDownloads)} downloads` : null, t.maxBytesPerDay !== undefined ? `${bytes(t.maxBytesPerDay)} a day` : null,
          (t.allowedIps ?? []).length ? `from ${t.allowedIps.join(', ')}` : null].filter(Boolean).join('; ') || 'none',
        `${count(t.downloads)} downloads, ${bytes(t.bytes)} (${bytes(t.bytesLastDay)} in the last day); last used ${time(t.lastUsedAt)}`,
        t.revokedAt ? `revoked ${time(t.revokedAt)}` : 'live',
        t.revokedAt ? '' : revokeControl(t),
      ]), 'No token yet.');
  }

  /** A revoke button that asks for confirmation in place. @param {any} t */
  function revokeControl(t) {
    const cell = h('span');
    const ask = h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${t.name}` }, 'Revoke');
    ask.addEventListener('click', () => {
      const confirm = h('button', { type: 'button', class: 'danger', 'aria-label': `Confirm: revoke ${t.name}` }, 'Confirm revoke');
      const cancel = h('button', { type: 'button', class: 'quiet' }, 'Cancel');
      confirm.addEventListener('click', async () => {
        errors.clear();
        page.busy();
        try {
          await api('DELETE', `admin/tokens/${encodeURIComponent(t.id)}`);
          status.show(`Revoked ${t.name} (${t.id}).`);
          await load();
        } catch (error) {
          errors.show(error);
        } finally {
          page.ready();
        }
      });
      cancel.addEventListener('click', () => {
        cell.replaceChildren(ask);
        ask.focus();
      });
      cell.replaceChildren(h('span', { class: 'confirm', role: 'group', 'aria-label': `Revoke ${t.name}?` }, `Revoke ${t.name}?`, confirm, cancel));
      confirm.focus();
    });
    cell.append(ask);
    return cell;
  }

  function createForm() {
    const name = /** @type {HTMLInputElement} */ (h('input', { type: 'text', name: 'name', required: true, maxlength: '100', autocomplete: 'off' }));
    const boxes = scopes.map(([value, label]) => /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', name: 'scope', value, checked: value === 'pypi:read' })));
    const projects = /** @type {HTMLInputElement} */ (h('input', { type: 'text', name: 'projects', placeholder: 'numpy, torch-*' }));
    const repos = /** @type {HTMLInputElement} */ (h('input', { type: 'text', name: 'repos', placeholder: 'meta-llama/, org/model' }));
    const expires = /** @type {HTMLInputElement} */ (h('input', { type: 'date', name: 'expires' }));
    const maxDownloads = /** @type {HTMLInputElement} */ (h('input', { type: 'number', name: 'maxDownloads', min: '1', step: '1' }));
    const maxMiB = /** @type {HTMLInputElement} */ (h('input', { type: 'number', name: 'maxMiB', min: '1', step: '1' }));
    const ips = /** @type {HTMLInputElement} */ (h('input', { type: 'text', name: 'ips', placeholder: '10.0.0.0/8, 192.0.2.7' }));
    const form = h('form', { class: 'stack', id: 'create-token', 'aria-labelledby': 'create-title' },
      h('h2', { id: 'create-title' }, 'Create a token'),
      field('Name', name),
      h('fieldset', null, h('legend', null, 'Scopes'),
        scopes.map(([value, label], i) => h('label', { class: 'check' }, boxes[i], `${label} (${value})`))),
      field('Limit PyPI to projects (optional)', projects, 'Comma-separated names or globs; empty allows every project.'),
      field('Limit Hugging Face to repositories (optional)', repos, 'Comma-separated org/name, org/ or globs; empty allows every repository.'),
      field('Expires on (optional, UTC)', expires),
      field('Most downloads (optional)', maxDownloads),
      field('Most MiB a day (optional)', maxMiB),
      field('Allowed client addresses (optional)', ips, 'Comma-separated IPs or CIDR ranges.'),
      h('div', null, h('button', { type: 'submit' }, 'Create token')));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      errors.clear();
      status.clear();
      const chosen = boxes.filter((b) => b.checked).map((b) => {
        const limit = b.value === 'pypi:read' ? projects.value.trim() : b.value === 'hf:read' ? repos.value.trim() : '';
        return limit ? `${b.value}=${limit.split(',').map((x) => x.trim()).filter(Boolean).join(',')}` : b.value;
      });
      if (chosen.length === 0) {
        errors.show('Choose at least one scope.');
        return;
      }
      /** @type {Record<string, any>} */
      const body = { name: name.value.trim(), scopes: chosen };
      if (expires.value) {
        body.expiresAt = `${expires.value}T00:00:00Z`;
      }
      if (maxDownloads.value) {
        body.maxDownloads = Number(maxDownloads.value);
      }
      if (maxMiB.value) {
        body.maxBytesPerDay = Number(maxMiB.value) * 1024 * 1024;
      }
      if (ips.value.trim()) {
        body.allowedIps = ips.value.split(',').map((x) => x.trim()).filter(Boolean);
      }
      page.busy();
      try {
        const created = await api('POST', 'admin/tokens', { json: body });
        secretSlot.replaceChildren(secretPanel(created));
        /** @type {HTMLFormElement} */ (form).reset();
        await load();
        /** @type {HTMLElement | null} */ (secretSlot.querySelector('h2'))?.focus();
      } catch (error) {
        errors.show(error);
      } finally {
        page.ready();
      }
    });
    return form;
  }

  await load();
}

/** The new secret, shown once, with ready-to-paste client settings. @param {any} created */
function secretPanel(created) {
  const secret = created.token;
  const origin = `${location.protocol}//${location.host}${root.replace(/\/$/, '')}`;
  const pip = `PIP_INDEX_URL=${location.protocol}//__token__:${secret}@${location.host}${root}pypi/simple/`;
  const hf = `HF_ENDPOINT=${origin}/hf\nHF_TOKEN=${secret}`;
  // Registry clients find /v2/ at the host's root; the secret is the password, typed or piped in, never on the command line.
  const oci = `podman login ${location.host} --username gatehouse --password-stdin`;
  return h('section', { class: 'secret', 'aria-labelledby': 'secret-title', id: 'new-token' },
    h('h2', { id: 'secret-title', tabindex: '-1' }, `Token “${created.name}” created`),
    h('p', null, h('strong', null, 'Copy the secret now: Gatehouse stores only its hash and cannot show it again.')),
    copyRow('Secret', secret, 'new-token-secret'),
    (created.scopes ?? []).some((/** @type {string} */ x) => x.startsWith('pypi:read')) ? copyRow('pip (environment)', pip, 'new-token-pip') : null,
    (created.scopes ?? []).some((/** @type {string} */ x) => x.startsWith('hf:read')) ? copyRow('Hugging Face (environment)', hf, 'new-token-hf', true) : null,
    (created.scopes ?? []).some((/** @type {string} */ x) => x.startsWith('oci:read'))
      ? copyRow('Container login (the secret is the password)', oci, 'new-token-oci') : null);
}

/** A read-only field with a copy button. @param {string} label @param {string} value @param {string} id @param {boolean} [multiline] */
function copyRow(label, value, id, multiline = false) {
  const input = /** @type {HTMLInputElement | HTMLTextAreaElement} */ (multiline
    ? h('textarea', { id, readonly: true, rows: '2', spellcheck: 'false' }, value)
    : h('input', { type: 'text', id, readonly: true, value, spellcheck: 'false', autocomplete: 'off' }));
  const done = h('span', { role: 'status', 'aria-live': 'polite', class: 'hint' });
  const button = h('button', { type: 'button', 'aria-label': `Copy ${label}` }, 'Copy');
  button.addEventListener('click', async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(value);
      done.textContent = 'Copied.';
    } catch {
      done.textContent = document.execCommand('copy') ? 'Copied.' : 'Select the text and copy it.';
    }
  });
  return h('div', { class: 'field' }, h('label', { for: id }, label), h('div', { class: 'copy-row' }, input, button, done));
}
