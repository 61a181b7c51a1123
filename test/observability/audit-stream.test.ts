import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { createSocket, type Socket } from 'node:dgram';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { call, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { within } from '../helpers/wait.js';

const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

interface Received {
  id: string;
  type: string;
  user: { usercode: string | null };
}

/** A SIEM's HTTP collector that can be switched off (answers 503) and back on. */
async function startReceiver() {
  const state = { down: false, refused: 0, batches: 0, events: [] as Received[], auth: [] as string[] };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      state.auth.push(String(req.headers.authorization));
      if (state.down) {
        state.refused++;
        res.writeHead(503).end();
        return;
      }
      state.batches++;
      state.events.push(...(JSON.parse(body) as { events: Received[] }).events);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/audit`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe(`audit stream over HTTP (${db})`, () => {
  let gw: TestGateway;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver();
    gw = await startTestGateway({
      audit: { stream: { type: 'http', url: receiver.url, headers: { authorization: 'Bearer siem-key' }, retryMaxSeconds: 1, batchSize: 7 } },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await receiver?.close();
  });

  it('a receiver that is down loses nothing and holds up no sign-in; order per user is kept', async () => {
    receiver.state.down = true;
    const users = ['ann', 'bob', 'cid'];
    for (let round = 0; round < 4; round++) {
      for (const u of users) {
        const started = Date.now();
        const groups = round % 2 === 0 ? ['bi-admins'] : ['bi-analysts'];
        const r = await call(`${gw.url}/claimgate/sso?jwt=${await gw.token({ preferred_username: u, sub: `s-${u}`, groups })}`);
        expect(r.status).toBe(303);
        expect(Date.now() - started).toBeLessThan(2000);
      }
    }
    const metric = async (name: string) => {
      const line = (await gw.running.gateway.parts.metrics.render()).body.split('\n').find((l) => l.startsWith(`${name} `));
      return Number(line?.split(' ')[1]);
    };
    await within(5000, () => receiver.state.refused >= 2);
    // The receiver counts a refusal when it answers; the gateway counts the failure once it has read that answer.
    await within(5000, async () => (await metric('claimgate_audit_stream_failures_total')) >= 2);
    expect(receiver.state.events).toHaveLength(0);
    // The backlog metric shows what waits; the failures are counted.
    const waiting = Number(((await gw.db.knex('audit_stream_outbox').count({ n: '*' }).first()) as { n: string }).n);
    expect(waiting).toBeGreaterThanOrEqual(24);
    expect(await metric('claimgate_audit_stream_backlog')).toBe(waiting);
    expect(await metric('claimgate_audit_stream_failures_total')).toBeGreaterThanOrEqual(2);
    receiver.state.down = false;

    const written = (await gw.db.knex('audit_events').select('id', 'usercode').orderBy('id')) as { id: string | number; usercode: string | null }[];
    expect(written.length).toBeGreaterThanOrEqual(24);
    await within(10_000, () => new Set(receiver.state.events.map((e) => e.id)).size >= written.length);
    const got = new Set(receiver.state.events.map((e) => e.id));
    for (const w of written) expect(got.has(String(w.id))).toBe(true);
    // In order per user (first delivery of each event).
    const firstSeen: string[] = [];
    for (const e of receiver.state.events) if (!firstSeen.includes(e.id)) firstSeen.push(e.id);
    for (const u of users) {
      const ids = receiver.state.events.filter((e) => e.user.usercode === u).map((e) => Number(e.id));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(ids.length).toBeGreaterThan(0);
    }
    expect(receiver.state.batches).toBeGreaterThan(1); // batchSize 7
    expect(receiver.state.auth.every((a) => a === 'Bearer siem-key')).toBe(true);
    await within(5000, async () => Number(((await gw.db.knex('audit_stream_outbox').count({ n: '*' }).first()) as { n: string }).n) === 0);
    expect(await metric('claimgate_audit_stream_backlog')).toBe(0);
    // Delivered events are counted once their outbox rows are deleted.
    await within(5000, async () => (await metric('claimgate_audit_stream_delivered_total')) >= written.length);
  });
});

describe(`audit stream to syslog over TCP (${db})`, () => {
  let gw: TestGateway;
  let listener: NetServer;
  let received = '';
  beforeAll(async () => {
    listener = createNetServer((socket) => socket.setEncoding('utf8').on('data', (c: string) => (received += c)));
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    gw = await startTestGateway({ audit: { stream: { type: 'syslog', protocol: 'tcp', host: '127.0.0.1', port: (listener.address() as AddressInfo).port } } });
  });
  afterAll(async () => {
    await gw?.close();
    await new Promise<void>((r) => listener.close(() => r()));
  });

  /** RFC 6587 octet counting: `LEN SP MSG`, repeated. */
  const frames = (stream: string): string[] => {
    const out: string[] = [];
    let buf = Buffer.from(stream);
    while (buf.length > 0) {
      const sp = buf.indexOf(0x20);
      const len = Number(buf.subarray(0, sp).toString());
      out.push(buf.subarray(sp + 1, sp + 1 + len).toString());
      buf = buf.subarray(sp + 1 + len);
    }
    return out;
  };

  it('sends octet-counted RFC 5424 messages carrying the event as JSON', async () => {
    expect((await call(`${gw.url}/claimgate/sso?jwt=${await gw.token({ preferred_username: 'eve', sub: 's-eve' })}`)).status).toBe(303);
    await within(5000, () => received.includes('"type":"login"'));
    const messages = frames(received);
    const login = messages.find((m) => m.includes('"type":"login"'))!;
    expect(login).toMatch(/^<110>1 \S+ \S+ claimgate \d+ login - \{/);
    expect((JSON.parse(login.slice(login.indexOf('{'))) as Received).user.usercode).toBe('eve');
  });
});

describe(`audit stream to syslog over UDP (${db})`, () => {
  let gw: TestGateway;
  let socket: Socket;
  const messages: string[] = [];
  beforeAll(async () => {
    socket = createSocket('udp4');
    socket.on('message', (m) => messages.push(m.toString()));
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    gw = await startTestGateway({ audit: { stream: { type: 'syslog', host: '127.0.0.1', port: socket.address().port } } });
  });
  afterAll(async () => {
    await gw?.close();
    await new Promise<void>((r) => socket.close(() => r()));
  });

  it('each audit event is one RFC 5424 message carrying the event as JSON', async () => {
    expect((await call(`${gw.url}/claimgate/sso?jwt=${await gw.token({ preferred_username: 'dora', sub: 's-dora' })}`)).status).toBe(303);
    await within(5000, () => messages.some((m) => m.includes('"type":"login"')));
    const login = messages.find((m) => m.includes('"type":"login"'))!;
    // facility 13 (log audit) * 8 + severity 6 (informational) = 110
    expect(login).toMatch(/^<110>1 \d{4}-\d\d-\d\dT[^ ]+ \S+ claimgate \d+ login - \{/);
    const event = JSON.parse(login.slice(login.indexOf('{'))) as Received & { schema: string };
    expect(event.schema).toBe('claimgate.audit/1');
    expect(event.user.usercode).toBe('dora');
  });
});

describe(`no audit stream configured (${db})`, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('queues nothing', async () => {
    expect((await call(`${gw.url}/claimgate/sso?jwt=${await gw.token()}`)).status).toBe(303);
    expect(Number(((await gw.db.knex('audit_events').count({ n: '*' }).first()) as { n: string }).n)).toBeGreaterThan(0);
    expect(Number(((await gw.db.knex('audit_stream_outbox').count({ n: '*' }).first()) as { n: string }).n)).toBe(0);
  });
});
