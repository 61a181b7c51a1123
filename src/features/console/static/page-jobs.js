// Jobs: their schedule and runs, and a run now (a dry run unless the person unticks it).
import { api, canWrite, get } from './api.js';
import { details, h, replace, status, time } from './dom.js';

/** One line about a run record (in-memory or recorded by any instance). */
export function runText(r) {
  if (!r) return 'no run recorded';
  const who = r.by ?? r.actor ?? r.trigger;
  const outcome = r.status ?? r.outcome ?? r.state;
  return `${time(r.finishedAt ?? r.startedAt)}${who ? ` by ${who}` : ''}${outcome ? ` (${outcome})` : ''}${r.dryRun ? ', dry run' : ''}`;
}

export async function jobsPage(el) {
  const [jobs, writable] = await Promise.all([get('/jobs'), canWrite()]);
  const sections = jobs.items.map((j) => {
    const out = h('div', { 'aria-live': 'polite' });
    const dry = h('input', { type: 'checkbox', checked: true, id: `dry-${j.name}` });
    const run = async () => {
      replace(out, status('Running…'));
      try {
        const r = await api('POST', `/jobs/${encodeURIComponent(j.name)}/run?dryRun=${dry.checked ? 'true' : 'false'}`);
        replace(out, status(`${dry.checked ? 'Dry run' : 'Run'} finished ${time(r.finishedAt)}.`, 'ok'), details('Result', r.result));
      } catch (e) {
        replace(out, status(e.message, 'error'));
      }
    };
    const { name, description, lastRun, ...more } = j;
    return h(
      'section',
      { 'aria-label': name, class: 'job' },
      h('h2', {}, name),
      h('p', {}, description),
      h('p', {}, `Last run: ${runText(lastRun)}.`),
      Object.keys(more).length ? details('Schedule and recorded runs', more) : null,
      writable ? h('div', { class: 'actions' }, h('span', { class: 'check' }, dry, h('label', { for: dry.id }, 'Dry run (change nothing)')), h('button', { type: 'button', onclick: run, 'aria-label': `Run now: ${name}` }, 'Run now')) : null,
      out,
    );
  });
  replace(el, h('h1', {}, 'Jobs'), h('p', {}, 'Scheduled work of the gateway. A run from here is a dry run unless you untick it.'), ...sections);
}
