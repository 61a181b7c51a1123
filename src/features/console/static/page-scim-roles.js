// SCIM roles: the group and user role rules in force, an editor with preview, save, versions and rollback.
import { api, canWrite, get } from './api.js';
import { confirmDialog, field, h, replace, status, uid, versionsSection } from './dom.js';

/** The editor's text as `{ groupRoles, userRoles }`, or a message saying why not. */
function parseRules(text) {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch {
    return { error: 'The rules are not valid JSON.' };
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return { error: 'The rules must be a JSON object with groupRoles and userRoles.' };
  return { rules: { groupRoles: doc.groupRoles ?? {}, userRoles: doc.userRoles ?? [] } };
}

/** A SCIM User resource (JSON), or a stored user's id or usercode (anything else). */
function subjectOf(text) {
  const t = text.trim();
  if (!t) return null;
  if (t.startsWith('{')) return { resource: JSON.parse(t) };
  return { user: t };
}

/** An API error as text, with every problem and its path when the server listed them. */
function problemsOf(e) {
  const problems = e?.problem?.problems;
  if (!Array.isArray(problems) || !problems.length) return status(e.message || String(e), 'error');
  return [status(e.message || 'The rules have problems.', 'error'), h('ul', {}, problems.map((p) => h('li', {}, h('code', {}, p.path ?? ''), ` ${p.message ?? ''}`)))];
}

export async function scimRolesPage(el) {
  const [rules, versions, writable] = await Promise.all([
    get('/provisioning/scim-roles'),
    get('/provisioning/scim-roles/versions').catch(() => ({ items: [] })),
    canWrite(),
  ]);

  const editor = h('textarea', {
    rows: '18',
    spellcheck: 'false',
    autocapitalize: 'off',
    class: 'code',
    value: JSON.stringify({ groupRoles: rules.groupRoles, userRoles: rules.userRoles }, null, 2),
  });
  const subject = h('textarea', { rows: '10', spellcheck: 'false', class: 'code', placeholder: '{ "userName": "…", "roles": [{ "value": "…" }] }  or a usercode' });
  const groups = h('input', { type: 'text', autocomplete: 'off', placeholder: 'BI Admins, Finance' });
  const resultHeading = uid('result');
  const result = h('section', { role: 'region', 'aria-labelledby': resultHeading, class: 'result', tabindex: '-1' }, h('h2', { id: resultHeading }, 'Result'), h('p', {}, 'Preview the roles a user would get from the rules in the editor.'));
  const showResult = (...nodes) => replace(result, h('h2', { id: resultHeading }, 'Result'), ...nodes);

  const busy = async (fn) => {
    try {
      await fn();
    } catch (e) {
      showResult(problemsOf(e));
    }
  };
  const draft = () => {
    const d = parseRules(editor.value);
    if (d.error) showResult(status(d.error, 'error'));
    return d.rules ?? null;
  };

  const preview = () =>
    busy(async () => {
      const d = draft();
      if (!d) return;
      let who;
      try {
        who = subjectOf(subject.value);
      } catch {
        showResult(status('The SCIM User is not valid JSON.', 'error'));
        return;
      }
      if (!who) {
        showResult(status('Paste a SCIM User resource, or give a stored user’s usercode or id.', 'error'));
        return;
      }
      const named = groups.value.split(',').map((g) => g.trim()).filter(Boolean);
      showResult(renderScimPreview(await api('POST', '/provisioning/scim-roles/preview', { ...who, groups: named, ...d })));
    });

  const redraw = async (note) => {
    await scimRolesPage(el);
    el.querySelector('.notes')?.append(note);
    el.querySelector('h1')?.focus();
  };

  const save = () =>
    busy(async () => {
      const d = draft();
      if (!d) return;
      if (!(await confirmDialog('Save the SCIM role rules as a new version?', h('p', {}, 'They are in force on every instance within a second; each user gets them at its next SCIM write.'), 'Save'))) return;
      const saved = await api('PUT', '/provisioning/scim-roles', d);
      await redraw(status(`Saved as version ${saved.version}; it is in force.`, 'ok'));
    });

  const rollTo = h(
    'select',
    {},
    versions.items.map((v) => h('option', { value: String(v.version) }, `version ${v.version}${v.active ? ' (in force)' : ''}`)),
    rules.source === 'database' ? h('option', { value: 'file' }, 'the configuration file') : null,
  );
  const rollback = () =>
    busy(async () => {
      const target = rollTo.value;
      const label = target === 'file' ? 'the configuration file’s rules' : `version ${target}`;
      if (!(await confirmDialog(`Roll the SCIM role rules back to ${label}?`, h('p', {}, 'It is in force on every instance within a second. Every version stays for later.'), 'Roll back now'))) return;
      if (target === 'file') await api('DELETE', '/provisioning/scim-roles');
      else await api('POST', '/provisioning/scim-roles/rollback', { version: Number(target) });
      await redraw(status(`Rolled back to ${label}.`, 'ok'));
    });

  const source = rules.source === 'database' ? `Stored version ${rules.version} is in force` : 'The configuration file’s rules are in force';
  replace(
    el,
    h('h1', {}, 'SCIM roles'),
    h('p', {}, `${source}. SCIM users get the roles of their groups (groupRoles) and of their own resource (userRoles), with the source scim.`),
    h('div', { class: 'notes' }),
    h(
      'dl',
      {},
      h('dt', {}, 'Allowed roles'),
      h('dd', {}, rules.allowedRoles ? rules.allowedRoles.join(', ') || '(none)' : 'any'),
      h('dt', {}, 'Enterprise extension'),
      h('dd', {}, Object.entries(rules.enterprise ?? {}).map(([k, v]) => `${k} → ${v ?? 'ignored'}`).join('; ')),
      h('dt', {}, 'idpSource'),
      h('dd', {}, rules.idpSource ?? '(not set)'),
    ),
    h(
      'div',
      { class: 'columns' },
      h('section', { class: 'col', 'aria-label': 'Editor' }, field('Rules', editor, 'JSON: { "groupRoles": { group: role or [roles] }, "userRoles": [ role rules ] }.').wrap),
      h(
        'section',
        { class: 'col', 'aria-label': 'Sample' },
        field('SCIM User', subject, 'A SCIM User resource as JSON, or the usercode or id of a stored user.').wrap,
        field('Groups', groups, 'SCIM groups by display name, separated by commas.').wrap,
        h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', onclick: preview }, 'Preview'),
          writable ? h('button', { type: 'button', class: 'primary', onclick: save }, 'Save as new version') : null,
        ),
      ),
    ),
    result,
    versionsSection(versions, { rollTo, rollback, writable }),
  );
}

function names(list) {
  return list.length ? list.join(', ') : '(none)';
}

export function renderScimPreview(p) {
  const enterprise = [
    ...Object.entries(p.enterprise?.profile ?? {}).map(([k, v]) => h('li', {}, h('strong', {}, k), `: ${v ?? '(cleared)'}`)),
    ...Object.entries(p.enterprise?.attributes ?? {}).map(([k, v]) => h('li', {}, 'attribute ', h('strong', {}, k), `: ${v.join(', ')}`)),
  ];
  return [
    h('h3', {}, 'Roles'),
    h('p', {}, names(p.roles)),
    p.refused.length ? status(`Not in allowedRoles, so never granted: ${p.refused.join(', ')}`, 'info') : null,
    h('dl', {}, h('dt', {}, 'From its groups'), h('dd', {}, names(p.fromGroups)), h('dt', {}, 'From the user resource'), h('dd', {}, names(p.fromUser))),
    h('h3', {}, 'Enterprise extension'),
    enterprise.length ? h('ul', {}, enterprise) : h('p', {}, 'Nothing.'),
    h(
      'details',
      {},
      h('summary', {}, `Trace (${p.trace.length} steps)`),
      h('ol', { class: 'trace' }, p.trace.map((t) => h('li', {}, h('code', {}, t.path), ` ${t.outcome}`, t.values !== undefined ? ` ${JSON.stringify(t.values)}` : '', t.detail ? ` — ${t.detail}` : ''))),
    ),
  ];
}
