// Overview: issuers and their keys and mappings, sign-ins and refusals over 24 hours, the jobs' last runs.
import { get, consoleUrl } from './api.js';
import { details, h, replace, table, time } from './dom.js';
import { runText } from './page-jobs.js';

const SVG = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs = {}, ...children) => {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
};

/** Bars per hour: sign-ins up, refusals beside them; the numbers are also in the table below it. */
function chart(hours) {
  const max = Math.max(1, ...hours.map((x) => Math.max(x.signIns, x.refusals)));
  const w = 24 * 20;
  const hgt = 120;
  const total = hours.reduce((n, x) => n + x.signIns, 0);
  const refused = hours.reduce((n, x) => n + x.refusals, 0);
  const bars = hours.flatMap((x, i) => {
    const a = (x.signIns / max) * (hgt - 20);
    const b = (x.refusals / max) * (hgt - 20);
    return [
      svg('rect', { x: i * 20 + 2, y: hgt - a, width: 8, height: a, class: 'bar-ok' }, svg('title', {}, `${time(x.hour)}: ${x.signIns} sign-ins`)),
      svg('rect', { x: i * 20 + 10, y: hgt - b, width: 8, height: b, class: 'bar-bad' }, svg('title', {}, `${time(x.hour)}: ${x.refusals} refusals`)),
    ];
  });
  return svg('svg', { viewBox: `0 0 ${w} ${hgt}`, class: 'chart', role: 'img', 'aria-label': `Sign-ins per hour over 24 hours: ${total} sign-ins, ${refused} refusals` }, svg('line', { x1: 0, y1: hgt, x2: w, y2: hgt, class: 'axis' }), ...bars);
}

export async function overviewPage(el) {
  const [o, jobs, mappings] = await Promise.all([get('/overview'), get('/jobs').catch(() => ({ items: [] })), get('/mappings').catch(() => ({ items: [] }))]);
  const codes = Object.entries(o.activity.codes).sort((a, b) => b[1] - a[1]);
  replace(
    el,
    h('h1', {}, 'Overview'),
    h(
      'section',
      { 'aria-label': 'Issuers' },
      h('h2', {}, 'Issuers'),
      table(
        'Trusted issuers',
        ['Issuer', 'Keys', 'Last key fetch', 'Key ids', 'Last error', 'Mapping'],
        o.issuers.map((i) => [
          h('span', {}, h('strong', {}, i.id), h('br'), i.issuer),
          i.keys.kind,
          time(i.keys.lastFetchAt),
          i.keys.keyIds.join(', ') || '—',
          i.keys.lastError ? `${i.keys.lastError} (${time(i.keys.lastErrorAt)})` : 'none',
          h('a', { href: consoleUrl(`mappings/${encodeURIComponent(i.mapping)}`) }, `${i.mapping} ${i.mappingVersion ? `v${i.mappingVersion}` : '(file)'}`),
        ]),
      ),
      mappings.items.length ? h('p', {}, `${mappings.items.length} mapping${mappings.items.length === 1 ? '' : 's'}; `, h('a', { href: consoleUrl('mappings') }, 'see them all')) : null,
    ),
    h(
      'section',
      { 'aria-label': 'Sign-ins' },
      h('h2', {}, 'Sign-ins in the last 24 hours'),
      h('p', { class: 'legend' }, h('span', { class: 'key ok' }, 'sign-ins'), ' ', h('span', { class: 'key bad' }, 'refusals')),
      chart(o.activity.hours),
      table('Refusals by code', ['Code', 'Count'], codes.map(([c, n]) => [c, String(n)])),
      details('Per hour', o.activity.hours),
    ),
    h(
      'section',
      { 'aria-label': 'Jobs' },
      h('h2', {}, 'Jobs'),
      table('Last runs', ['Job', 'Last run'], jobs.items.map((j) => [h('a', { href: consoleUrl('jobs') }, j.name), runText(j.lastRun)])),
    ),
  );
}
