import { ERROR_TABLE, type ErrorEntry } from '../../src/core/errors/table.js';

/** The code table of docs/errors.md: one table per area, codes in the order of src/core/errors/table.ts. */
const AREA_TITLES: Record<ErrorEntry['area'], string> = {
  'sign-in': 'Sign-in and login',
  token: 'Tokens refused by the trust map',
  oidc: 'Redirect login (OpenID Connect)',
  'session and app': 'Sessions and requests to the app',
  api: 'API credentials and limits',
  'token endpoint': 'The token endpoint (OAuth 2.0 error bodies)',
  scim: 'SCIM (`scimType` of the SCIM error body)',
  'event receiver': 'The change event receiver (`{ error, errorDescription }` bodies)',
  'admin api': 'Admin API',
  server: 'Any endpoint',
};

const cell = (s: string) => s.replace(/\|/g, '\\|');

function statusCell(e: ErrorEntry): string {
  return e.alsoStatuses?.length ? `${e.status} (also ${e.alsoStatuses.join(', ')})` : String(e.status);
}

export function renderErrorsReference(): string {
  const byArea = new Map<ErrorEntry['area'], [string, ErrorEntry][]>();
  for (const [code, entry] of Object.entries(ERROR_TABLE) as [string, ErrorEntry][]) {
    const list = byArea.get(entry.area) ?? [];
    list.push([code, entry]);
    byArea.set(entry.area, list);
  }
  const parts: string[] = [];
  for (const [area, title] of Object.entries(AREA_TITLES) as [ErrorEntry['area'], string][]) {
    const entries = byArea.get(area);
    if (!entries) continue;
    const rows = entries.map(([code, e]) => `| \`${code}\` | ${statusCell(e)} | ${cell(e.title)} | ${cell(e.meaning)} |`);
    parts.push([`### ${title}`, '', '| code | status | title | meaning |', '|---|---|---|---|', ...rows].join('\n'));
  }
  return parts.join('\n\n');
}
