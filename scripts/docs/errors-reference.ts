import { ERROR_TABLE, type ErrorEntry } from '../../src/core/errors/table.js';

/** The code table of docs/errors.md: one table per area, codes in the order of src/core/errors/table.ts. */
const AREA_TITLES: Record<ErrorEntry['area'], string> = {
  'sign-in': 'Sign-in and login',
  token: 'Tokens refused by the trust map',
  oidc: 'Redirect login (OpenID Connect)',
  'session and app': 'Sessions and requests to the app',
  api: 'API credentials and limits',
  'admin api': 'Admin API',
  server: 'Any endpoint',
};

export function renderErrorsReference(): string {
  const byArea = new Map<ErrorEntry['area'], [string, ErrorEntry][]>();
  for (const [code, entry] of Object.entries(ERROR_TABLE)) {
    const list = byArea.get(entry.area) ?? [];
    list.push([code, entry]);
    byArea.set(entry.area, list);
  }
  const parts: string[] = [];
  for (const [area, title] of Object.entries(AREA_TITLES) as [ErrorEntry['area'], string][]) {
    const entries = byArea.get(area);
    if (!entries) continue;
    const rows = entries.map(
      ([code, e]) => `| \`${code}\` | ${e.statuses.join(', ')} | ${e.meaning.replace(/\|/g, '\\|')} |`,
    );
    parts.push([`### ${title}`, '', '| code | status | meaning |', '|---|---|---|', ...rows].join('\n'));
  }
  return parts.join('\n\n');
}
