// Users: search, and one user's page with where each right comes from and why.
import { api, canWrite, consoleUrl, get } from './api.js';
import { confirmDialog, details, field, h, replace, status, table, time } from './dom.js';
import { navigate } from './nav.js';

export async function userListPage(el) {
  const params = new URLSearchParams(location.search);
  const box = h('input', { type: 'search', value: params.get('q') ?? '', autocomplete: 'off' });
  const results = h('div', { 'aria-live': 'polite' });
  let seq = 0;
  const search = async () => {
    const n = ++seq;
    const q = box.value.trim();
    const page = await get(`/users?limit=50${q ? `&q=${encodeURIComponent(q)}` : ''}`);
    if (n !== seq) return;
    history.replaceState(null, '', q ? `?q=${encodeURIComponent(q)}` : location.pathname);
    replace(
      results,
      table(
        q ? `Users matching “${q}”` : 'Users',
        ['User', 'Name', 'E-mail', 'Lifecycle', 'Last sign-in'],
        page.items.map((u) => [h('a', { href: consoleUrl(`users/${encodeURIComponent(u.id)}`) }, u.usercode), u.displayName ?? '—', u.email ?? '—', u.lifecycle, time(u.lastLoginAt)]),
      ),
    );
  };
  let timer;
  box.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => void search().catch((e) => replace(results, status(e.message, 'error'))), 250);
  });
  const form = h('form', { role: 'search', onsubmit: (e) => (e.preventDefault(), void search()) }, field('Search users', box, 'Usercode, e-mail, name or an identity-provider identifier.').wrap);
  replace(el, h('h1', {}, 'Users'), form, results);
  await search();
}

export async function userPage(el, id) {
  const enc = encodeURIComponent(id);
  const [u, sessions, writable] = await Promise.all([get(`/users/${enc}`), get(`/users/${enc}/sessions`).catch(() => ({ items: [] })), canWrite()]);
  const note = h('div', { class: 'notes' });
  const act = (fn) => async () => {
    try {
      await fn();
    } catch (e) {
      replace(note, status(e.message, 'error'));
    }
  };
  const reload = async (msg) => {
    await userPage(el, id);
    el.querySelector('.notes')?.append(status(msg, 'ok'));
  };

  const why = (kind, name) => {
    const out = h('div', { class: 'why', 'aria-live': 'polite' });
    const btn = h(
      'button',
      {
        type: 'button',
        class: 'small',
        'aria-label': `Why does ${u.usercode} have ${kind === 'roles' ? 'role' : 'permission'} ${name}?`,
        onclick: act(async () => {
          const events = await get(`/audit?user=${enc}&role=${encodeURIComponent(name)}&limit=10`);
          replace(
            out,
            events.items.length
              ? h('ul', {}, events.items.map((e) => h('li', {}, `${time(e.at)}: ${e.type} by ${e.actor ?? e.source ?? '—'} (source ${e.source ?? '—'})`, details('Detail', e.detail))))
              : h('p', {}, 'No change of it is recorded in the audit trail.'),
          );
        }),
      },
      'Why?',
    );
    return [btn, out];
  };
  const grants = (kind) =>
    u[kind].length ? h('ul', {}, u[kind].map((g) => h('li', {}, h('strong', {}, g.name), ` from ${g.source} `, why(kind, g.name)))) : h('p', {}, 'None.');

  const patchLifecycle = (lifecycle, verb) =>
    act(async () => {
      const body = lifecycle === 'SUSPENDED' ? 'Their sessions end at once and they cannot sign in; their roles are kept.' : 'They can sign in again.';
      if (!(await confirmDialog(`${verb} ${u.usercode}?`, h('p', {}, body), verb))) return;
      await api('PATCH', `/users/${enc}`, { lifecycle });
      await reload(`${u.usercode} is now ${lifecycle.toLowerCase()}.`);
    });
  const remove = act(async () => {
    if (!(await confirmDialog(`Delete ${u.usercode}?`, h('p', {}, 'The user, their identities, rights and sessions are removed for good. The audit trail stays.'), 'Delete'))) return;
    await api('DELETE', `/users/${enc}`);
    navigate('users');
  });
  const endOne = (s) =>
    act(async () => {
      if (!(await confirmDialog(`End this session of ${u.usercode}?`, h('p', {}, `Started ${time(s.createdAt)}, last seen ${time(s.lastSeenAt)}.`), 'End session'))) return;
      await api('DELETE', `/users/${enc}/sessions/${encodeURIComponent(s.ref)}`);
      await reload('The session ended.');
    });
  const endSessions = act(async () => {
    if (!(await confirmDialog(`End every session of ${u.usercode}?`, h('p', {}, 'They have to sign in again.'), 'End sessions'))) return;
    await api('DELETE', `/users/${enc}/sessions`);
    await reload('Every session ended.');
  });

  replace(
    el,
    h('h1', {}, `User ${u.usercode}`),
    h('p', {}, h('a', { href: consoleUrl('users') }, 'All users')),
    note,
    h('section', { 'aria-label': 'Profile' }, h('h2', {}, 'Profile'), h('dl', { class: 'facts' }, ...[
      ['Name', u.displayName], ['First name', u.firstName], ['Last name', u.lastName], ['E-mail', u.email], ['Type', u.userType], ['Tags', u.tags.join(', ')],
      ['IdP source', u.idpSource], ['IdP reference id', u.idpReferenceId], ['IdP username', u.idpUsername], ['Workforce id', u.idpWorkforceId], ['Cloud username', u.idpCloudUsername], ['Id', u.id],
    ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v || '—')]))),
    h(
      'section',
      { 'aria-label': 'Lifecycle' },
      h('h2', {}, 'Lifecycle'),
      h('p', {}, `${u.lifecycle}. Created ${time(u.createdAt)}, last sign-in ${time(u.lastLoginAt)}${u.suspendedAt ? `, suspended ${time(u.suspendedAt)}` : ''}.`),
      u.status.length ? h('ul', {}, u.status.map((s) => h('li', {}, `${s.name} ${s.status} (${time(s.at)})${s.detail ? `: ${s.detail}` : ''}`))) : null,
      writable
        ? h(
            'div',
            { class: 'actions' },
            u.lifecycle === 'ACTIVE' ? h('button', { type: 'button', onclick: patchLifecycle('SUSPENDED', 'Suspend') }, 'Suspend') : h('button', { type: 'button', onclick: patchLifecycle('ACTIVE', 'Reactivate') }, 'Reactivate'),
            h('button', { type: 'button', class: 'danger', onclick: remove }, 'Delete'),
          )
        : null,
    ),
    h('section', { 'aria-label': 'Identities' }, h('h2', {}, 'Identities'), table('Identities this user signs in with', ['Issuer', 'Subject', 'Since'], u.identities.map((i) => [i.issuerId, i.sub, time(i.createdAt)]))),
    h('section', { 'aria-label': 'Roles' }, h('h2', {}, 'Roles'), grants('roles')),
    h('section', { 'aria-label': 'Permissions' }, h('h2', {}, 'Permissions'), grants('permissions')),
    h(
      'section',
      { 'aria-label': 'Attributes' },
      h('h2', {}, 'Attributes'),
      Object.keys(u.attributes).length ? h('ul', {}, Object.entries(u.attributes).flatMap(([k, list]) => list.map((a) => h('li', {}, h('strong', {}, k), `: ${a.values.join(', ') || '(none)'} from ${a.source}`)))) : h('p', {}, 'None.'),
    ),
    h(
      'section',
      { 'aria-label': 'Sessions' },
      h('h2', {}, 'Sessions'),
      table(
        'Live sessions',
        ['Issuer', 'Started', 'Last seen', 'Ends when idle at', 'End'],
        sessions.items.map((s) => [
          s.issuerId ?? '—',
          time(s.createdAt),
          time(s.lastSeenAt),
          time(s.idleExpiresAt),
          writable ? h('button', { type: 'button', class: 'small', 'aria-label': `End session started ${time(s.createdAt)}`, onclick: endOne(s) }, 'End session') : '—',
        ]),
      ),
      writable && sessions.items.length ? h('button', { type: 'button', onclick: endSessions }, 'End all sessions') : null,
    ),
  );
}
