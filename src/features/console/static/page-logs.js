// The audit trail and the request log: filters, cursor paging, expandable rows.
import { get } from './api.js';
import { field, h, replace, status, time } from './dom.js';

function logPage({ title, intro, path, filters, columns, cells }) {
  return async (el) => {
    const inputs = filters.map(([name, label, hint]) => [name, h('input', { type: 'text', autocomplete: 'off' }), label, hint]);
    const out = h('div', { 'aria-live': 'polite' });
    const more = h('button', { type: 'button', hidden: true }, 'Next page');
    let cursor = null;
    let body = null;
    const load = async (reset) => {
      const q = new URLSearchParams({ limit: '50' });
      for (const [name, input] of inputs) if (input.value.trim()) q.set(name, input.value.trim());
      if (!reset && cursor) q.set('cursor', cursor);
      let page;
      try {
        page = await get(`${path}?${q}`);
      } catch (e) {
        replace(out, status(e.message, 'error'));
        return;
      }
      cursor = page.nextCursor;
      more.hidden = !cursor;
      if (reset || !body) {
        body = h('tbody', {});
        replace(out, h('table', {}, h('caption', {}, title), h('thead', {}, h('tr', {}, [...columns, 'Detail'].map((c) => h('th', { scope: 'col' }, c)))), body));
      }
      for (const item of page.items) {
        const detail = h('pre', { hidden: true }, JSON.stringify(item.detail, null, 2));
        const toggle = h('button', { type: 'button', class: 'small', 'aria-expanded': 'false' }, 'Show');
        toggle.addEventListener('click', () => {
          const open = toggle.getAttribute('aria-expanded') !== 'true';
          toggle.setAttribute('aria-expanded', String(open));
          toggle.textContent = open ? 'Hide' : 'Show';
          detail.hidden = !open;
        });
        body.append(h('tr', {}, cells(item).map((c) => h('td', {}, c)), h('td', {}, toggle, detail)));
      }
      if (!page.items.length && reset) body.append(h('tr', {}, h('td', { colspan: String(columns.length + 1) }, 'Nothing found.')));
    };
    more.addEventListener('click', () => void load(false));
    const form = h(
      'form',
      { class: 'filters', onsubmit: (e) => (e.preventDefault(), void load(true)) },
      inputs.map(([, input, label, hint]) => field(label, input, hint).wrap),
      h('button', { type: 'submit' }, 'Filter'),
    );
    replace(el, h('h1', {}, title), h('p', {}, intro), form, out, more);
    await load(true);
  };
}

export const auditPage = logPage({
  title: 'Audit trail',
  intro: 'Sign-ins, refusals, role changes with their source, lifecycle changes and admin actions, newest first.',
  path: '/audit',
  filters: [
    ['type', 'Type', 'e.g. login, login_denied, role_change'],
    ['user', 'User', 'User id or usercode'],
    ['since', 'Since', 'RFC 3339 time, e.g. 2026-01-31T00:00:00Z'],
  ],
  columns: ['When', 'Type', 'User', 'By', 'Source'],
  cells: (e) => [time(e.at), e.type, e.usercode ?? e.userId ?? '—', e.actor ?? '—', e.source ?? '—'],
});

export const requestLogPage = logPage({
  title: 'Request logs',
  intro: 'Calls to the admin API, SCIM, the token endpoint, the sync API and the event receiver (bodies masked), newest first.',
  path: '/request-logs',
  filters: [
    ['kind', 'Kind', 'request, payload or exception'],
    ['requestId', 'Request id', ''],
    ['since', 'Since', 'RFC 3339 time'],
  ],
  columns: ['When', 'Kind', 'Call', 'Status', 'Caller', 'Time'],
  cells: (r) => [time(r.at), r.kind, `${r.method} ${r.path}`, r.status === null ? '—' : String(r.status), r.client ?? r.clientIp ?? '—', r.durationMs === null ? '—' : `${r.durationMs} ms`],
});
