import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { runCli, type CliIo } from '../../src/app/cli/main.js';
import { parseConfigObject } from '../../src/core/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/app/server.js';
import { openDatabase } from '../../src/store/db/index.js';
import { MappingVersionStore } from '../../src/features/admin/mapping-store.js';
import { call } from '../helpers/gateway.js';
import { TEST_DB_OPTIONS } from '../helpers/db.js';

const SECRET = 'k'.repeat(40);

/**
 * A mapping saved through the admin API overrides the file's mapping of that name. That must be visible where an
 * operator looks: the start-up log, check-config and the admin API's mapping answers.
 */
describe('a stored mapping that overrides the file is announced', () => {
  let dir: string;
  let configFile: string;
  let raw: Record<string, unknown>;
  const cli = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (s) => out.push(s), err: (s) => err.push(s), env: { S: SECRET } };
    const code = await runCli(args, io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cg-stored-'));
    configFile = join(dir, 'claimgate.yaml');
    raw = {
      publicUrl: 'http://gateway.test',
      listen: { host: '127.0.0.1', port: 0 },
      session: { secret: '${S}' },
      upstream: { url: 'http://127.0.0.1:9' },
      database: { url: '', dataDir: join(dir, 'data') },
      issuers: [{ id: 'corp', issuer: 'https://idp.example.test', audiences: ['claimgate'], jwksUri: 'https://idp.example.test/jwks', algorithms: ['RS256'], mapping: 'corp' }],
      mappings: { corp: { user: { usercode: 'sub' } }, other: { user: { usercode: 'sub' } } },
    };
    writeFileSync(configFile, JSON.stringify(raw));
    const db = await openDatabase({ ...TEST_DB_OPTIONS, url: '', dataDir: join(dir, 'data') });
    try {
      await db.migrate();
      await new MappingVersionStore(db.knex).save('corp', { user: { usercode: 'email' } }, { createdBy: 'admin:test' });
    } finally {
      await db.close();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('check-config warns that the file mapping is overridden', async () => {
    const r = await cli(['check-config', '--config', configFile]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^warning: mappings\.corp: overridden by version 1 saved through the admin API; this file's mapping is not in force$/m);
    expect(r.err).not.toMatch(/mappings\.other/);
  });

  it('start-up logs it; the admin API answers say it; check-config says it cannot look while the gateway runs', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info' });
    logger.clear();
    logger.add(new winston.transports.Stream({ stream: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) }));
    let running: RunningServer | undefined;
    try {
      running = await startServer(parseConfigObject(raw, { S: SECRET }), { logger, jobs: { disabled: true } });
      const warn = lines.map((l) => JSON.parse(l)).find((l) => /overrides the configuration file/.test(l.message));
      expect(warn).toMatchObject({ level: 'warn', mapping: 'corp', version: 1 });

      const created = await cli(['tokens', 'create', '--name', 'reader', '--scopes', 'admin:read', '--json', '--config', configFile]);
      const { token } = JSON.parse(created.out) as { token: string };
      const auth = { authorization: `Bearer ${token}` };
      const all = (await call(`${running.url}/claimgate/admin/v1/mappings`, { headers: auth })).json();
      expect(all.items).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'corp', source: 'database', version: 1, overridesFile: true }),
          expect.objectContaining({ name: 'other', source: 'file', overridesFile: false }),
        ]),
      );
      const one = (await call(`${running.url}/claimgate/admin/v1/mappings/corp`, { headers: auth })).json();
      expect(one).toMatchObject({ source: 'database', hasFileMapping: true, overridesFile: true });

      const r = await cli(['check-config', '--config', configFile]);
      expect(r.code).toBe(0);
      expect(r.err).toMatch(new RegExp(`^note: stored mappings not checked: the embedded database is in use by process ${process.pid} `, 'm'));
    } finally {
      await running?.close();
    }
  });
});
