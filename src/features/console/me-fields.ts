// The console's `/me` fields live in src/web/admin-auth.ts (the session routes add them).
export { consoleFields } from '../../web/admin-auth.js';
