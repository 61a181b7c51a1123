// API credentials: create (the secret shown once), list with last use, revoke.
import { api, canWrite, get } from './api.js';
import { confirmDialog, field, h, replace, status, table, time } from './dom.js';

const SCOPES = ['admin:read', 'admin:write', 'scim', 'users:sync', 'metrics:read'];

export async function credentialsPage(el) {
  const [list, writable] = await Promise.all([get('/tokens'), canWrite()]);
  const note = h('div', { class: 'notes', 'aria-live': 'polite' });
  const revoke = (c) => async () => {
    if (!(await confirmDialog(`Revoke ${c.name}?`, h('p', {}, 'Every call made with it is refused at once, on every instance.'), 'Revoke'))) return;
    try {
      await api('DELETE', `/tokens/${encodeURIComponent(c.name)}`);
      await credentialsPage(el);
    } catch (e) {
      replace(note, status(e.message, 'error'));
    }
  };
  const rows = list.items.map((c) => [
    c.name,
    c.scopes.join(', '),
    time(c.createdAt),
    time(c.lastUsedAt),
    c.expiresAt ? time(c.expiresAt) : 'never',
    writable ? h('button', { type: 'button', class: 'small danger', 'aria-label': `Revoke ${c.name}`, onclick: revoke(c) }, 'Revoke') : '—',
  ]);
  const parts = [h('h1', {}, 'Credentials'), h('p', {}, 'Bearer tokens and client credentials of the APIs. A secret is shown once, when it is created.'), note];
  if (writable) {
    const name = h('input', { type: 'text', required: true, autocomplete: 'off', pattern: '[A-Za-z0-9._-]{1,64}' });
    const expires = h('input', { type: 'text', autocomplete: 'off', placeholder: '90d' });
    const boxes = SCOPES.map((s) => [s, h('input', { type: 'checkbox', value: s, id: `scope-${s.replace(':', '-')}` })]);
    const create = async (e) => {
      e.preventDefault();
      const scopes = boxes.filter(([, b]) => b.checked).map(([s]) => s);
      if (!scopes.length) return replace(note, status('Choose at least one scope.', 'error'));
      try {
        const c = await api('POST', '/tokens', { name: name.value.trim(), scopes, ...(expires.value.trim() ? { expiresIn: expires.value.trim() } : {}) });
        const secret = h('code', { class: 'secret' }, c.token);
        const copied = h('span', { role: 'status' });
        replace(
          note,
          h(
            'div',
            { class: 'created' },
            h('h2', {}, `Credential ${c.name} created`),
            h('p', {}, 'Copy the token now: it is not shown again.'),
            h('p', {}, 'Token: ', secret, ' ', h('button', { type: 'button', onclick: () => navigator.clipboard.writeText(c.token).then(() => (copied.textContent = 'Copied.'), () => (copied.textContent = 'Copy it by hand.')) }, 'Copy token'), copied),
            h('p', {}, `Client id ${c.clientId}; client secret (for /oauth/token): `, h('code', { class: 'secret' }, c.clientSecret)),
          ),
        );
        await redrawList();
      } catch (err) {
        replace(note, status(err.message, 'error'));
      }
    };
    parts.push(
      h(
        'form',
        { class: 'create', onsubmit: create, 'aria-label': 'New credential' },
        h('h2', {}, 'New credential'),
        field('Name', name).wrap,
        h('fieldset', {}, h('legend', {}, 'Scopes'), boxes.map(([s, b]) => h('div', { class: 'check' }, b, h('label', { for: b.id }, s)))),
        field('Expires in', expires, 'Optional, e.g. 90d, 12h; empty: until revoked.').wrap,
        h('button', { type: 'submit', class: 'primary' }, 'Create credential'),
      ),
    );
  }
  const listBox = h('div', {}, table('Credentials', ['Name', 'Scopes', 'Created', 'Last used', 'Expires', 'Revoke'], rows));
  const redrawList = async () => {
    const fresh = await get('/tokens');
    replace(listBox, table('Credentials', ['Name', 'Scopes', 'Created', 'Last used', 'Expires', 'Revoke'], fresh.items.map((c) => [c.name, c.scopes.join(', '), time(c.createdAt), time(c.lastUsedAt), c.expiresAt ? time(c.expiresAt) : 'never', h('button', { type: 'button', class: 'small danger', 'aria-label': `Revoke ${c.name}`, onclick: revoke(c) }, 'Revoke')])));
  };
  parts.push(h('h2', {}, 'Existing credentials'), listBox);
  replace(el, ...parts);
}
