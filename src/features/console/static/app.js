// The console's router: one HTML shell for every path below /console/, the page drawn from the path with the
// History API, so deep links, reloads and the back button all work.
import { consoleUrl, me } from './api.js';
import { h, replace, status } from './dom.js';
import { overviewPage } from './page-overview.js';
import { mappingListPage, mappingPage } from './page-mappings.js';
import { userListPage, userPage } from './page-users.js';
import { auditPage, requestLogPage } from './page-logs.js';
import { credentialsPage } from './page-credentials.js';
import { jobsPage } from './page-jobs.js';
import { scimRolesPage } from './page-scim-roles.js';

const NAV = [
  ['', 'Overview'],
  ['mappings', 'Mappings'],
  ['users', 'Users'],
  ['audit', 'Audit'],
  ['request-logs', 'Request logs'],
  ['scim-roles', 'SCIM roles'],
  ['credentials', 'Credentials'],
  ['jobs', 'Jobs'],
];

const ROUTES = [
  [/^$/, overviewPage],
  [/^mappings$/, mappingListPage],
  [/^mappings\/([^/]+)$/, mappingPage],
  [/^users$/, userListPage],
  [/^users\/([^/]+)$/, userPage],
  [/^audit$/, auditPage],
  [/^request-logs$/, requestLogPage],
  [/^scim-roles$/, scimRolesPage],
  [/^credentials$/, credentialsPage],
  [/^jobs$/, jobsPage],
];

const prefix = consoleUrl();
const main = document.getElementById('main');

function pathOf(url) {
  const p = new URL(url, location.href).pathname;
  return p.startsWith(prefix) ? p.slice(prefix.length).replace(/\/+$/, '') : p === prefix.slice(0, -1) ? '' : null;
}

function drawNav(current) {
  const section = current.split('/')[0];
  replace(
    document.getElementById('nav'),
    NAV.map(([path, label]) => h('li', {}, h('a', { href: consoleUrl(path), 'aria-current': path === section ? 'page' : false }, label))),
  );
}

let drawing = 0;
async function draw(focus) {
  const path = pathOf(location.href) ?? '';
  drawNav(path);
  const n = ++drawing;
  for (const [re, page] of ROUTES) {
    const m = re.exec(path);
    if (!m) continue;
    const target = h('div', { class: 'page' });
    try {
      await page(target, ...m.slice(1).map(decodeURIComponent));
    } catch (e) {
      replace(target, h('h1', {}, 'Something went wrong'), status(e.message || String(e), 'error'));
    }
    if (n !== drawing) return;
    replace(main, target);
    // Tests and people measuring the console read this: the page is drawn with its data.
    window.performance?.mark?.('console:drawn');
    const title = main.querySelector('h1');
    document.title = `${title ? title.textContent : 'Console'} — claimgate console`;
    if (focus && title) {
      title.setAttribute('tabindex', '-1');
      title.focus();
    }
    return;
  }
  replace(main, h('h1', {}, 'Not found'), h('p', {}, 'There is no console page here. '), h('a', { href: consoleUrl() }, 'Go to the overview'));
}

document.addEventListener('click', (e) => {
  const a = e.target instanceof Element ? e.target.closest('a[href]') : null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target) return;
  if (a.origin !== location.origin || pathOf(a.href) === null) return;
  e.preventDefault();
  history.pushState(null, '', a.href);
  void draw(true);
});
window.addEventListener('popstate', () => void draw(true));

me()
  .then((who) => {
    replace(
      document.getElementById('who'),
      `${who.user.displayName || who.user.usercode} · ${who.adminScopes.includes('admin:write') ? 'can change' : 'read only'} · `,
      h('a', { href: `${document.body.dataset.base}/logout` }, 'Sign out'),
    );
  })
  .catch(() => undefined);
void draw(false);
