// Console sessions are recognised in src/web/admin-auth.ts (the request log and the admin API use them too).
export { consoleSession, sessionPseudonym } from '../../web/admin-auth.js';
