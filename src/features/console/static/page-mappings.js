// Mappings: the list, and one mapping's editor with validation as you type, preview, impact, save and rollback.
import { api, canWrite, consoleUrl, get } from './api.js';
import { confirmDialog, field, h, replace, status, table, time, uid, versionsSection } from './dom.js';
import { lineDiff } from './diff.js';

export async function mappingListPage(el) {
  const list = await get('/mappings');
  replace(
    el,
    h('h1', {}, 'Mappings'),
    h('p', {}, 'How claims of each issuer become a user, roles, permissions and attributes. A stored version overrides the configuration file.'),
    table(
      'Mappings',
      ['Name', 'In force', 'Issuers'],
      list.items.map((m) => [
        h('a', { href: consoleUrl(`mappings/${encodeURIComponent(m.name)}`) }, m.name),
        m.source === 'database' ? `version ${m.version}` : 'configuration file',
        m.issuers.join(', ') || '—',
      ]),
    ),
  );
}

/** Claims JSON, or a token (anything else). */
function sampleOf(text) {
  const t = text.trim();
  if (!t) return null;
  if (t.startsWith('{')) return { claims: JSON.parse(t) };
  return { token: t };
}

export async function mappingPage(el, name) {
  const enc = encodeURIComponent(name);
  const [doc, versions, recent, writable] = await Promise.all([
    get(`/mappings/${enc}/yaml`),
    get(`/mappings/${enc}/versions`).catch(() => ({ items: [] })),
    get(`/mappings/${enc}/recent-logins?limit=20`).catch(() => ({ items: [] })),
    canWrite(),
  ]);

  const editor = h('textarea', { rows: '22', spellcheck: 'false', autocapitalize: 'off', class: 'code', value: doc.yaml });
  const problems = h('div', { class: 'problems', role: 'status', 'aria-live': 'polite' });
  const claims = h('textarea', { rows: '8', spellcheck: 'false', class: 'code', placeholder: '{ "sub": "…", "groups": ["…"] }  or a token' });
  const pick = h('select', {}, h('option', { value: '' }, '— choose a recent login —'), recent.items.map((r, i) => h('option', { value: String(i) }, `${r.usercode ?? r.claims.sub ?? '?'} (${r.issuer}, ${time(r.at)})`)));
  pick.addEventListener('change', () => {
    const r = recent.items[Number(pick.value)];
    if (pick.value !== '' && r) claims.value = JSON.stringify(r.claims, null, 2);
  });
  const resultHeading = uid('result');
  const result = h('section', { role: 'region', 'aria-labelledby': resultHeading, class: 'result', tabindex: '-1' }, h('h2', { id: resultHeading }, 'Result'), h('p', {}, 'Preview a sample, or see the impact of the draft on recent logins.'));
  const showResult = (...nodes) => replace(result, h('h2', { id: resultHeading }, 'Result'), ...nodes);

  /** Puts the caret on a line of the editor and selects it, scrolled into view. */
  const goToLine = (line) => {
    const lines = editor.value.split('\n');
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    editor.focus();
    editor.setSelectionRange(start, start + (lines[line - 1] ?? '').length);
    const lineHeight = editor.scrollHeight / Math.max(1, lines.length);
    editor.scrollTop = Math.max(0, (line - 3) * lineHeight);
  };

  // Validation: the server's validator, the text sent after a short pause in typing; the latest answer wins.
  let validated = { text: null, answer: null };
  let seq = 0;
  const validate = async () => {
    const text = editor.value;
    if (validated.text === text) return validated.answer;
    const n = ++seq;
    const answer = await api('POST', `/mappings/${enc}/validate`, { yaml: text });
    if (n === seq) {
      validated = { text, answer };
      replace(
        problems,
        answer.valid
          ? h('p', { class: 'ok' }, 'No problems.')
          : [h('p', { class: 'bad' }, `${answer.problems.length} problem${answer.problems.length === 1 ? '' : 's'}:`), h('ul', {}, answer.problems.map((p) => h('li', {}, h('code', {}, p.path), ` ${p.message} `, p.line ? h('button', { type: 'button', class: 'small', onclick: () => goToLine(p.line) }, `Go to line ${p.line}`) : null)))],
      );
      editor.setAttribute('aria-invalid', answer.valid ? 'false' : 'true');
    }
    return answer;
  };
  let timer;
  editor.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => void validate().catch((e) => replace(problems, status(e.message, 'error'))), 300);
  });

  /** The draft as JSON, or null after showing why not. */
  const draft = async () => {
    const answer = await validate();
    if (!answer.valid) {
      showResult(status('The mapping has problems (listed under the editor); fix them first.', 'error'));
      return null;
    }
    return answer.mapping;
  };

  const busy = async (fn) => {
    try {
      await fn();
    } catch (e) {
      showResult(status(e.message || String(e), 'error'));
    }
  };

  const preview = () =>
    busy(async () => {
      const mapping = await draft();
      if (!mapping) return;
      let sample;
      try {
        sample = sampleOf(claims.value);
      } catch {
        showResult(status('The claims are not valid JSON.', 'error'));
        return;
      }
      if (!sample) {
        showResult(status('Paste claims JSON or a token into Claims, or choose a recent login.', 'error'));
        return;
      }
      showResult(renderPreview(await api('POST', `/mappings/${enc}/preview`, { ...sample, mapping })));
    });

  const impactOf = async (mapping) => api('POST', `/mappings/${enc}/preview-recent`, { mapping, limit: 200 });
  const impact = () =>
    busy(async () => {
      const mapping = await draft();
      if (!mapping) return;
      showResult(renderImpact(await impactOf(mapping)));
    });

  const save = () =>
    busy(async () => {
      const mapping = await draft();
      if (!mapping) return;
      const summary = renderImpact(await impactOf(mapping), true);
      if (!(await confirmDialog(`Save "${name}" as a new version?`, [h('p', {}, 'It is in force on every instance within a second. Impact on recent logins:'), summary], 'Save'))) return;
      const saved = await api('PUT', `/mappings/${enc}`, mapping);
      await redraw(status(`Saved as version ${saved.version}; it is in force.`, 'ok'));
    });

  const rollTo = h('select', {}, versions.items.map((v) => h('option', { value: String(v.version) }, `version ${v.version}${v.active ? ' (in force)' : ''}`)), doc.hasFileMapping && doc.source === 'database' ? h('option', { value: 'file' }, 'the configuration file') : null);
  const rollback = () =>
    busy(async () => {
      const target = rollTo.value;
      const label = target === 'file' ? 'the configuration file’s mapping' : `version ${target}`;
      if (!(await confirmDialog(`Roll "${name}" back to ${label}?`, h('p', {}, 'It is in force on every instance within a second. Every version stays for later.'), 'Roll back now'))) return;
      if (target === 'file') await api('DELETE', `/mappings/${enc}`);
      else await api('POST', `/mappings/${enc}/rollback`, { version: Number(target) });
      await redraw(status(`Rolled back to ${label}.`, 'ok'));
    });

  const from = h('select', {});
  const to = h('select', {});
  const choices = [...versions.items.map((v) => [String(v.version), `version ${v.version}`]), ...(doc.hasFileMapping ? [['file', 'configuration file']] : []), ['editor', 'the editor (unsaved)']];
  for (const [v, l] of choices) {
    from.append(h('option', { value: v }, l));
    to.append(h('option', { value: v }, l));
  }
  if (choices.length > 1) from.value = choices[choices.length > 2 ? 1 : 0][0];
  to.value = choices[0][0];
  const diffOut = h('div', { class: 'diff', 'aria-live': 'polite' });
  const textOf = async (v) => (v === 'editor' ? editor.value : (await get(`/mappings/${enc}/yaml?version=${v}`)).yaml);
  const compare = () =>
    busy(async () => {
      const [a, b] = await Promise.all([textOf(from.value), textOf(to.value)]);
      replace(diffOut, renderDiff(a, b));
    });

  const redraw = async (note) => {
    await mappingPage(el, name);
    el.querySelector('.notes')?.append(note);
    el.querySelector('h1')?.focus();
  };

  const source = doc.source === 'database' ? `Stored version ${doc.version} is in force` : 'The configuration file’s mapping is in force';
  replace(
    el,
    h('h1', {}, `Mapping ${name}`),
    h('p', {}, `${source}. `, h('a', { href: consoleUrl('mappings') }, 'All mappings')),
    h('div', { class: 'notes' }),
    h(
      'div',
      { class: 'columns' },
      h('section', { class: 'col', 'aria-label': 'Editor' }, field('Mapping', editor, 'YAML: user, roles, permissions, attributes… Problems are listed below as you type.').wrap, problems),
      h(
        'section',
        { class: 'col', 'aria-label': 'Sample' },
        field('Claims', claims, 'Claims as JSON, or a token of a trusted issuer (verified, not used up).').wrap,
        field('Recent login', pick).wrap,
        h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', onclick: preview }, 'Preview'),
          h('button', { type: 'button', onclick: impact }, 'Impact'),
          writable ? h('button', { type: 'button', class: 'primary', onclick: save }, 'Save as new version') : null,
        ),
      ),
    ),
    result,
    versionsSection(versions, {
      rollTo,
      rollback,
      writable,
      extra: [h('div', { class: 'inline' }, field('From', from).wrap, field('To', to).wrap, h('button', { type: 'button', onclick: compare }, 'Compare')), diffOut],
    }),
  );
  void validate().catch(() => undefined);
}

function list(items) {
  return items.length ? h('ul', {}, items) : h('p', {}, 'None.');
}

export function renderPreview(p) {
  const out = [];
  out.push(h('p', {}, `Mapping ${p.mapping.name} (${p.mapping.source === 'draft' ? 'the draft in the editor' : p.mapping.source})${p.issuer ? `, issuer ${p.issuer}` : ''}.`));
  if (!p.allowed) {
    out.push(status(`Sign-in refused (${p.denied.code}) by ${p.denied.rule}: ${p.denied.message}`, 'error'));
  } else {
    const d = p.desired;
    const rule = (kind, n) => (p.producedBy?.[kind]?.[n] ?? []).join(', ') || 'default';
    out.push(h('h3', {}, `Desired user ${d.usercode}`));
    out.push(h('dl', {}, Object.entries(d.profile ?? {}).map(([k, v]) => [h('dt', {}, k), h('dd', {}, Array.isArray(v) ? v.join(', ') : String(v))])));
    out.push(h('h3', {}, 'Roles'), list(d.roles.map((r) => h('li', {}, h('strong', {}, r), ' from rule ', h('code', {}, rule('roles', r))))));
    out.push(h('h3', {}, 'Permissions'), list(d.permissions.map((r) => h('li', {}, h('strong', {}, r), ' from rule ', h('code', {}, rule('permissions', r))))));
    out.push(h('h3', {}, 'Attributes'), list(Object.entries(d.attributes).map(([k, v]) => h('li', {}, h('strong', {}, k), `: ${v.join(', ') || '(none)'}`))));
    const diff = p.diff;
    out.push(h('h3', {}, 'Compared with the stored user'));
    if (diff.create) out.push(h('p', {}, 'No stored user yet: the sign-in would create it.'));
    else if (diff.unchanged) out.push(h('p', {}, 'No change.'));
    const changes = [];
    for (const [f, c] of Object.entries(diff.profile ?? {})) changes.push(h('li', {}, `${f}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`));
    for (const kind of ['roles', 'permissions']) {
      for (const n of diff[kind]?.added ?? []) changes.push(h('li', { class: 'gain' }, `+ ${kind === 'roles' ? 'role' : 'permission'} ${n}`));
      for (const n of diff[kind]?.removed ?? []) changes.push(h('li', { class: 'loss' }, `− ${kind === 'roles' ? 'role' : 'permission'} ${n}`));
    }
    for (const [k, c] of Object.entries(diff.attributes ?? {})) changes.push(h('li', {}, `attribute ${k}: ${c.before.join(', ') || '(none)'} → ${c.after.join(', ') || '(none)'}`));
    if (changes.length) out.push(h('ul', {}, changes));
  }
  out.push(
    h(
      'details',
      {},
      h('summary', {}, `Trace (${p.trace.length} steps)`),
      h('ol', { class: 'trace' }, p.trace.map((t) => h('li', {}, h('code', {}, t.path), ` ${t.outcome}`, t.values !== undefined ? ` ${JSON.stringify(t.values)}` : '', t.detail ? ` — ${t.detail}` : ''))),
    ),
  );
  return out;
}

export function renderImpact(r, short = false) {
  const lines = [];
  for (const kind of ['roles', 'permissions']) {
    for (const [n, c] of Object.entries(r.summary[kind] ?? {})) {
      const what = kind === 'roles' ? 'role' : 'permission';
      if (c.gained.length) lines.push(h('li', { class: 'gain' }, `${c.gained.length} would gain ${what} ${n}: ${c.gained.join(', ')}`));
      if (c.lost.length) lines.push(h('li', { class: 'loss' }, `${c.lost.length} would lose ${what} ${n}: ${c.lost.join(', ')}`));
    }
  }
  const access = r.items.filter((i) => i.access !== 'unchanged').map((i) => h('li', { class: i.access === 'gained' ? 'gain' : 'loss' }, `${i.usercode} would ${i.access === 'gained' ? 'be able to' : 'no longer'} sign in`));
  return [
    h('p', {}, `Replayed the latest login of ${r.users} user${r.users === 1 ? '' : 's'} (${r.logins} logins): ${r.changedUsers} would change.`),
    lines.length || access.length ? h('ul', { class: 'impact' }, lines, access) : h('p', {}, 'Nobody gains or loses anything.'),
    short
      ? null
      : table(
          'Per user',
          ['User', 'Last login', 'Gains', 'Losses'],
          r.items.filter((i) => i.changed).map((i) => [i.usercode, time(i.loginAt), [...i.roles.gained, ...i.permissions.gained].join(', ') || '—', [...i.roles.lost, ...i.permissions.lost].join(', ') || '—']),
        ),
  ];
}

function renderDiff(a, b) {
  const rows = lineDiff(a.split('\n'), b.split('\n'));
  if (rows.every((r) => r.op === ' ')) return h('p', {}, 'The two are the same.');
  return h(
    'pre',
    { class: 'diff-text', 'aria-label': 'Differences' },
    rows.map((r) => h(r.op === '+' ? 'ins' : r.op === '-' ? 'del' : 'span', {}, `${r.op} ${r.line}\n`)),
  );
}
