// @ts-check
/** Sign-in: an admin token in a password field, exchanged for a session cookie and a CSRF token kept in memory. */
import { api, alertRegion, base, currentSession, field, h, setSession } from '../app.js';

/** @param {import('../app.js').PageContext} page */
export default async function signIn(page) {
  const errors = alertRegion();
  const token = /** @type {HTMLInputElement} */ (h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true, spellcheck: 'false' }));
  const submit = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit' }, 'Sign in'));
  const form = h('form', { class: 'stack', 'aria-label': 'Sign in' },
    field('Admin token', token, 'A Gatehouse entitlement token with the admin scope (ght_…). It is sent once and never stored by this page.'),
    h('div', null, submit));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    submit.disabled = true;
    try {
      const signedIn = await api('POST', 'console/session', { json: { token: token.value.trim() } });
      token.value = '';
      setSession(signedIn);
      const next = page.query.get('next');
      page.navigate(next && next.startsWith(base) && !next.startsWith(base + 'signin') ? next : base);
    } catch (error) {
      errors.show(`Sign-in refused (${error instanceof Error ? error.message : error})`);
      page.ready();
    } finally {
      submit.disabled = false;
    }
  });
  const signedIn = currentSession();
  page.main.append(...[
    h('h1', null, 'Sign in to the Gatehouse console'),
    signedIn ? h('p', null, `You are signed in as ${signedIn.name}. Signing in again replaces that session.`) : null,
    h('p', { class: 'hint' }, 'The session lasts 8 hours, or until the token is revoked.'),
    errors.element,
    form,
  ].filter((x) => x !== null));
}
