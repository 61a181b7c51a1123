import type { IncomingMessage } from 'node:http';

/**
 * What the gateway learned about one request while answering it, for whoever reports on it afterwards (the
 * request log): set by the code that decided it, read once the answer is sent. Lives on the request itself, so
 * it goes when the request does.
 */
export interface RequestScope {
  /**
   * Who made the call, as logs may name it: an API credential's name, or a console session's pseudonym
   * (`console:<user id>`). Null until (unless) a caller was authenticated.
   */
  principal: string | null;
}

const SCOPE = Symbol('claimgate.requestScope');

type Scoped = IncomingMessage & { [SCOPE]?: RequestScope };

/** The request's scope, created on first use. */
export function requestScope(req: IncomingMessage): RequestScope {
  const scoped = req as Scoped;
  return (scoped[SCOPE] ??= { principal: null });
}

/** Records who made the call (the authenticator that established it calls this). */
export function notePrincipal(req: IncomingMessage, principal: string): void {
  requestScope(req).principal = principal;
}

/** Who made the call, if anyone authenticated it; never authenticates anything itself. */
export function principalOf(req: IncomingMessage): string | null {
  return (req as Scoped)[SCOPE]?.principal ?? null;
}
