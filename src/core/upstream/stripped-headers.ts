/**
 * Request headers the app never receives from a client, besides identity and hop-by-hop headers.
 *
 * Method and URL override headers let a request say "treat me as another method or path" after the gateway has
 * matched its route rules on the real method and path: a rule limited to `GET` would pass a `GET` that the app
 * (Rails, Laravel, Symfony, Express method-override, IIS URL rewrite) then treats as `DELETE` or as another URL.
 * `X-Original-URL` is on the list even from a trusted proxy, since the rules were checked against the request line,
 * not against it. `forwarding.stripRequestHeaders` replaces the list.
 */
export const DEFAULT_STRIPPED_REQUEST_HEADERS = [
  'X-HTTP-Method-Override',
  'X-HTTP-Method',
  'X-Method-Override',
  'X-Original-URL',
  'X-Rewrite-URL',
] as const;

/**
 * Dropped whatever the configuration says. `Expect`: Node has already answered `100 Continue` to the client, and
 * undici refuses to send it (UND_ERR_NOT_SUPPORTED), which turned every such upload into a 502.
 */
const ALWAYS_STRIPPED = ['expect'];

/** A test on lowercase header names: true for a header the app must not receive. */
export function strippedRequestHeaders(configured: readonly string[]): (lowercaseName: string) => boolean {
  const names = new Set([...ALWAYS_STRIPPED, ...configured.map((n) => n.toLowerCase())]);
  return (name) => names.has(name);
}
