import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { request } from 'undici';
import type { Config } from '../../core/config/schema.js';

/** One audit event as the stream delivers it (docs/observability.md#audit-stream describes the shape). */
export interface StreamedAuditEvent {
  schema: 'claimgate.audit/1';
  /** The audit trail's id: increasing, unique per database; a receiver de-duplicates redeliveries with it. */
  id: string;
  time: string;
  type: string;
  actor: string | null;
  source: string | null;
  user: { id: string | null; usercode: string | null };
  detail: unknown;
}

/** Delivers one batch, in order; resolves only when the receiver took all of it. */
export interface AuditSink {
  send(events: StreamedAuditEvent[]): Promise<void>;
  close(): Promise<void>;
}

type StreamConfig = NonNullable<Config['audit']['stream']>;

export function createSink(config: StreamConfig, out: NodeJS.WritableStream = process.stdout): AuditSink {
  switch (config.type) {
    case 'http':
      return httpSink(config);
    case 'syslog':
      return config.protocol === 'tcp' ? syslogTcpSink(config) : syslogUdpSink(config);
    case 'stdout':
      return {
        async send(events) {
          out.write(events.map((e) => `${JSON.stringify(e)}\n`).join(''));
        },
        close: async () => undefined,
      };
  }
}

function httpSink(config: Extract<StreamConfig, { type: 'http' }>): AuditSink {
  return {
    async send(events) {
      const res = await request(config.url, {
        method: 'POST',
        headers: { ...config.headers, 'content-type': 'application/json' },
        body: JSON.stringify({ events }),
        headersTimeout: config.timeoutMs,
        bodyTimeout: config.timeoutMs,
      });
      await res.body.dump();
      if (res.statusCode < 200 || res.statusCode > 299) throw new Error(`the audit receiver answered ${res.statusCode}`);
    },
    close: async () => undefined,
  };
}

/** RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG`, the event as JSON in MSG. */
function syslogLine(config: Extract<StreamConfig, { type: 'syslog' }>, e: StreamedAuditEvent): string {
  const severity = e.type.endsWith('_denied') || e.type === 'login_refused' ? 4 : 6; // warning : informational
  const msgId = e.type.replace(/[^\x21-\x7e]/g, '_').slice(0, 32) || '-';
  return `<${config.facility * 8 + severity}>1 ${e.time} ${hostname()} ${config.appName} ${process.pid} ${msgId} - ${JSON.stringify(e)}`;
}

function syslogUdpSink(config: Extract<StreamConfig, { type: 'syslog' }>): AuditSink {
  const socket = createSocket(config.host.includes(':') ? 'udp6' : 'udp4');
  socket.unref();
  return {
    async send(events) {
      for (const e of events) {
        const msg = Buffer.from(syslogLine(config, e));
        await new Promise<void>((resolve, reject) => socket.send(msg, config.port, config.host, (err) => (err ? reject(err) : resolve())));
      }
    },
    close: async () => new Promise<void>((r) => socket.close(() => r())),
  };
}

function syslogTcpSink(config: Extract<StreamConfig, { type: 'syslog' }>): AuditSink {
  return {
    // A connection per batch: a receiver restart never leaves a half-dead socket behind.
    async send(events) {
      const frames = events.map((e) => {
        const line = Buffer.from(syslogLine(config, e));
        return `${line.length} ${line.toString()}`;
      });
      await new Promise<void>((resolve, reject) => {
        const socket = connect({ host: config.host, port: config.port });
        socket.setTimeout(config.timeoutMs, () => socket.destroy(new Error('the syslog receiver timed out')));
        socket.once('error', reject);
        socket.once('connect', () => socket.end(frames.join(''), () => resolve()));
      });
    },
    close: async () => undefined,
  };
}
