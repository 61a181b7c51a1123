import pg from 'pg';
import type { ListenStateHandler, NotificationHandler } from './database.js';

export interface PgListenerOptions {
  /** pg client config (connection string, timeouts). */
  connection: pg.ClientConfig;
  /** First reconnect delay; doubles up to `maxBackoffMs`. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A ping on the listening connection this often detects a silently dead socket. */
  pingIntervalMs?: number;
  /** Told about connection problems (never with the URL). */
  onError?: (e: unknown) => void;
}

interface Subscription {
  onMessage: NotificationHandler;
  onState?: ListenStateHandler;
  /** Last state told to this subscriber: each change is reported once. */
  told?: boolean;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * LISTEN on a dedicated connection outside the pool (a pooled connection would be handed to other
 * queries and lose its subscriptions). When the connection drops, every subscriber hears `false`, the
 * listener reconnects with exponential back-off, re-issues every LISTEN and then reports `true`.
 */
export class PgListener {
  private readonly subs = new Map<string, Set<Subscription>>();
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private listening = false;
  private closed = false;
  private backoffMs: number;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: PgListenerOptions) {
    this.backoffMs = opts.minBackoffMs ?? 100;
  }

  /** True while the connection is up with every channel subscribed (and when nothing is subscribed). */
  isListening(): boolean {
    return this.subs.size === 0 || this.listening;
  }

  async listen(channel: string, onMessage: NotificationHandler, onState?: ListenStateHandler): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('listener closed');
    const sub: Subscription = { onMessage, onState };
    let set = this.subs.get(channel);
    const isNewChannel = !set;
    if (!set) this.subs.set(channel, (set = new Set()));
    set.add(sub);

    if (this.listening && this.client) {
      if (isNewChannel) {
        try {
          await this.client.query(`LISTEN ${quoteIdent(channel)}`);
        } catch (e) {
          this.dropped(e);
        }
      }
    } else {
      await this.ensureConnecting();
      // LISTEN is idempotent: covers a channel added while a connection attempt was already under way.
      if (this.listening && this.client) await this.client.query(`LISTEN ${quoteIdent(channel)}`).catch((e: unknown) => this.dropped(e));
    }
    this.tell(sub, this.listening);

    return async () => {
      const current = this.subs.get(channel);
      if (!current?.delete(sub) || current.size > 0) return;
      this.subs.delete(channel);
      if (this.listening && this.client) await this.client.query(`UNLISTEN ${quoteIdent(channel)}`).catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clearTimers();
    await this.connecting?.catch(() => undefined);
    const client = this.client;
    this.client = null;
    this.listening = false;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }

  private ensureConnecting(): Promise<void> {
    if (!this.connecting) {
      this.connecting = this.connect().finally(() => {
        this.connecting = null;
      });
    }
    return this.connecting;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ ...this.opts.connection, keepAlive: true });
    client.on('notification', (msg) => {
      for (const sub of this.subs.get(msg.channel) ?? []) {
        try {
          sub.onMessage(msg.payload ?? '');
        } catch (e) {
          this.opts.onError?.(e);
        }
      }
    });
    client.on('error', (e) => this.dropped(e, client));
    client.on('end', () => this.dropped(new Error('listener connection ended'), client));
    try {
      await client.connect();
      for (const channel of this.subs.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`);
    } catch (e) {
      await client.end().catch(() => undefined);
      this.opts.onError?.(e);
      this.scheduleReconnect();
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.listening = true;
    this.backoffMs = this.opts.minBackoffMs ?? 100;
    this.startPing(client);
    this.emitState(true);
  }

  /** The connection failed: tell everyone, then reconnect. Ignores events of connections already replaced. */
  private dropped(e: unknown, from?: pg.Client): void {
    if (from && from !== this.client) return;
    if (this.closed || !this.client) return;
    const client = this.client;
    this.client = null;
    this.listening = false;
    this.clearTimers();
    client.removeAllListeners('end');
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    this.opts.onError?.(e);
    this.emitState(false);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = this.backoffMs * (0.75 + Math.random() * 0.5);
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs ?? 5000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.ensureConnecting();
    }, delay);
    this.reconnectTimer.unref();
  }

  private startPing(client: pg.Client): void {
    const every = this.opts.pingIntervalMs ?? 5000;
    this.pingTimer = setInterval(() => {
      const timeout = setTimeout(() => this.dropped(new Error('listener ping timed out'), client), every);
      client.query('SELECT 1').then(
        () => clearTimeout(timeout),
        (e: unknown) => {
          clearTimeout(timeout);
          this.dropped(e, client);
        },
      );
    }, every);
    this.pingTimer.unref();
  }

  private clearTimers(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.reconnectTimer = null;
    this.pingTimer = null;
  }

  private emitState(listening: boolean): void {
    for (const set of this.subs.values()) for (const sub of set) this.tell(sub, listening);
  }

  private tell(sub: Subscription, listening: boolean): void {
    if (sub.told === listening) return;
    sub.told = listening;
    try {
      sub.onState?.(listening);
    } catch (e) {
      this.opts.onError?.(e);
    }
  }
}
