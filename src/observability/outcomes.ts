/**
 * Explicit outcome hooks: the login pipeline and the proxy say what happened, and observers (metrics, tracing)
 * listen. One hub per gateway, so two gateways in one process (tests) never count each other's requests, and
 * nothing has to wrap or replace a feature's methods to observe it.
 */

/** How a sign-in ended: success, denied by the mapping or the user's state (403), rejected token, or error. */
export type LoginOutcome = 'success' | 'denied' | 'rejected' | 'error';

export interface LoginObservation {
  /** The configured issuer id, or `unknown` when the token named no configured issuer. */
  issuer: string;
  method: 'sso' | 'bearer' | 'oidc';
  outcome: LoginOutcome;
  /** The stable error code of a refusal. */
  code?: string;
  /** The whole pipeline: verification, mapping, user sync. */
  seconds: number;
  /** Mapping evaluation alone, when the mapping ran. */
  mappingSeconds?: number;
}

export interface ProxyObservation {
  /** The answer's status code. */
  status: number;
  seconds: number;
}

type Listener<T> = (event: T) => void;

export class Outcomes {
  private readonly loginListeners: Listener<LoginObservation>[] = [];
  private readonly proxyListeners: Listener<ProxyObservation>[] = [];

  onLogin(listener: Listener<LoginObservation>): void {
    this.loginListeners.push(listener);
  }

  onProxy(listener: Listener<ProxyObservation>): void {
    this.proxyListeners.push(listener);
  }

  /** True when somebody listens to proxied requests (the hot path skips its clock reads otherwise). */
  get observesProxy(): boolean {
    return this.proxyListeners.length > 0;
  }

  login(event: LoginObservation): void {
    for (const l of this.loginListeners) safely(l, event);
  }

  proxy(event: ProxyObservation): void {
    for (const l of this.proxyListeners) safely(l, event);
  }
}

/** An observer's failure must never change the outcome it observes. */
function safely<T>(listener: Listener<T>, event: T): void {
  try {
    listener(event);
  } catch {
    // Observers are best effort by design.
  }
}
