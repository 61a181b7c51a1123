import pg from 'pg';
import { openDatabase } from './src/store/db/index.js';
import { UserStore } from './src/store/users/index.js';
const url = process.env.DATABASE_URL!;
const schema = 't_fnb_' + Date.now();
const admin = new pg.Client(url); await admin.connect(); await admin.query(`CREATE SCHEMA ${schema}`);
const db = await openDatabase({ url, dataDir: '', poolMax: 8, connectionTimeoutMs: 5000, statementTimeoutMs: 10000, schema });
await db.migrate();
const store = new UserStore(db);
const desired = (i: string) => ({ usercode: `user-${i}`, profile: { email: `user-${i}@b.test`, displayName: `User ${i}` }, sync: {}, roles: ['analyst', 'viewer'], permissions: [], attributes: { region: ['EU'] } });
async function run(label: string, ids: string[], notify: boolean) {
  let next = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < ids.length) {
      const i = ids[next++]!;
      const r = await store.signIn({ issuerId: 'b', iss: 'https://b', sub: `sub-${i}`, desired: desired(i), source: 'mapping:b', createUsers: true, linkExistingUsers: false, claims: { sub: `sub-${i}`, groups: ['x'] }, mapping: { version: null, rules: { roles: {}, permissions: {} } } },
        { spend: { issuerId: 'b', key: `${label}-${i}`, expiresAt: new Date(Date.now() + 60000), once: true }, ...(notify ? { notify: { channel: 'claimgate_invalidate', payload: `token:${label}${i}` } } : {}), denied: { purpose: 'sso', at: new Date() },
          session: { row: { idHash: `${label}-${i}`, createdAt: new Date(), lastSeenAt: new Date(), idleExpiresAt: new Date(Date.now() + 1e6), absoluteExpiresAt: new Date(Date.now() + 1e6), data: {} }, auditAt: new Date() } });
      if ('refused' in r) throw new Error(r.refused);
    }
  }));
  console.log(label, notify ? 'notify' : 'no-notify', (ids.length / ((performance.now() - t) / 1000)).toFixed(0), '/s');
}
const N = Number(process.env.N ?? 1000);
for (const round of [1, 2]) {
  for (const notify of [true, false]) {
    const ids = Array.from({ length: N }, (_, i) => `${round}${notify ? 'n' : 'x'}${i}`);
    await run(`first${round}`, ids, notify);
    await run(`again${round}`, ids, notify);
  }
}
await db.close(); await admin.query(`DROP SCHEMA ${schema} CASCADE`); await admin.end();
