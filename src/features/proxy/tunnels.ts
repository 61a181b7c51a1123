import type { Duplex } from 'node:stream';
import type { InvalidationBus } from '../../core/cache/invalidation.js';

/** What a tunnel was admitted as: re-checked whenever its user or session changes. */
export interface TunnelOwner {
  userId: string;
  version: number;
  sessionHash?: string;
}

/**
 * Open WebSocket (and other Upgrade) tunnels to the app. A tunnel is authorised once, when it opens; it must not
 * outlive the authorisation (changes reach every process within a second), so every change of its user or session re-checks it and a
 * tunnel that fails the check (logged out, suspended, roles changed) is closed. The client reconnects and is
 * admitted afresh, route rules included.
 */
export class TunnelRegistry {
  private readonly byUser = new Map<string, Map<Duplex, TunnelOwner>>();

  constructor(
    bus: InvalidationBus,
    private readonly stillValid: (owner: TunnelOwner) => Promise<boolean>,
  ) {
    bus.on((m) => {
      if (m.kind === 'user') this.recheck(this.byUser.get(m.id));
      else if (m.kind === 'session') for (const t of this.byUser.values()) this.recheck(t, m.id);
      else if (m.kind === 'all') for (const t of this.byUser.values()) this.recheck(t);
    });
  }

  add(socket: Duplex, owner: TunnelOwner): void {
    let set = this.byUser.get(owner.userId);
    if (!set) this.byUser.set(owner.userId, (set = new Map()));
    set.set(socket, owner);
    socket.once('close', () => {
      set.delete(socket);
      if (set.size === 0 && this.byUser.get(owner.userId) === set) this.byUser.delete(owner.userId);
    });
  }

  /** Ends every tunnel (shutdown). */
  closeAll(): void {
    for (const t of this.byUser.values()) for (const socket of t.keys()) socket.destroy();
  }

  get size(): number {
    let n = 0;
    for (const t of this.byUser.values()) n += t.size;
    return n;
  }

  private recheck(tunnels: Map<Duplex, TunnelOwner> | undefined, sessionHash?: string): void {
    if (!tunnels) return;
    for (const [socket, owner] of tunnels) {
      if (sessionHash !== undefined && owner.sessionHash !== sessionHash) continue;
      // Fail closed: a check that cannot be made (database down) closes the tunnel too.
      this.stillValid(owner).then(
        (ok) => ok || socket.destroy(),
        () => socket.destroy(),
      );
    }
  }
}
