import type { ServerResponse } from 'node:http';

/**
 * Headers on every answer the gateway writes itself (its pages, problem documents, JSON), never on the app's
 * proxied answers, which are the app's to decide:
 * - no framing (`frame-ancestors 'none'`, and `X-Frame-Options: DENY` for browsers without CSP level 2), so no
 *   other site can overlay a sign-in, sign-out or "continue as" page and trick a click (clickjacking);
 * - `nosniff`, so a browser never reads a problem document or an error page as script or HTML it is not.
 */
export const GATEWAY_RESPONSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': "frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
});

export function setGatewayResponseHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(GATEWAY_RESPONSE_HEADERS)) if (!res.hasHeader(name)) res.setHeader(name, value);
}

/** Express middleware form, mounted in front of every gateway route. */
export function gatewayResponseHeaders(_req: unknown, res: ServerResponse, next: () => void): void {
  setGatewayResponseHeaders(res);
  next();
}
