// Small DOM helpers: every piece of data reaches the page as text, never as HTML.

/** h('button', { class: 'x', onclick: fn, 'aria-label': 'y' }, 'text', child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  return append(clear(el), children);
}

let ids = 0;
/** A unique element id (labels need one). */
export const uid = (prefix = 'f') => `${prefix}-${++ids}`;

/** A labelled form control: returns { wrap, input }. */
export function field(label, control, hint) {
  const id = control.id || uid();
  control.id = id;
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('p', { class: 'hint', id: hintId }, hint) : null);
  return { wrap, input: control };
}

export const time = (iso) => (iso ? new Date(iso).toLocaleString() : '—');

/** A table with a caption and header row; rows are arrays of cells (nodes or text). */
export function table(caption, headers, rows) {
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.length ? rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))) : h('tr', {}, h('td', { colspan: String(headers.length) }, 'Nothing yet.'))),
  );
}

/** A status line for screen readers and eyes. */
/**
 * The versions of a stored document (a mapping, the SCIM role rules): saved versions newest first, then `extra`
 * (a comparison, say), then, for writers, the version to restore and its Roll back button.
 */
export function versionsSection(versions, { rollTo, rollback, writable, extra = [] }) {
  return h(
    'section',
    { 'aria-label': 'Versions' },
    h('h2', {}, 'Versions'),
    table(
      'Saved versions, newest first',
      ['Version', 'Saved', 'By', 'Note'],
      versions.items.map((v) => [String(v.version), time(v.createdAt), v.createdBy ?? '—', [v.active ? 'in force' : '', v.rolledBackFrom ? ` copy of version ${v.rolledBackFrom}` : ''].join('')]),
    ),
    extra,
    writable && rollTo.options.length ? h('div', { class: 'inline' }, field('Version to restore', rollTo).wrap, h('button', { type: 'button', onclick: rollback }, 'Roll back')) : null,
  );
}

export function status(text, kind = 'info') {
  return h('p', { class: `status ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** A modal confirmation (the native dialog keeps focus inside and closes with Escape). Resolves true or false. */
export function confirmDialog(title, body, confirmLabel = 'Confirm') {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const dlg = h('dialog', { 'aria-labelledby': titleId, class: 'confirm' });
    const done = (ok) => {
      dlg.close();
      dlg.remove();
      resolve(ok);
    };
    append(dlg, [
      h('h2', { id: titleId }, title),
      h('div', { class: 'dialog-body' }, body),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => done(true) }, confirmLabel), h('button', { type: 'button', onclick: () => done(false) }, 'Cancel')),
    ]);
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** Expandable JSON for a row's detail. */
export function details(summary, value) {
  return h('details', {}, h('summary', {}, summary), h('pre', {}, JSON.stringify(value, null, 2)));
}
