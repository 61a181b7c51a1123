import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { GatewayError } from '../../core/errors/errors.js';

/** RFC 6455 section 1.3: the server proves it read the handshake by hashing the client's key with this GUID. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A Sec-WebSocket-Key is 16 random bytes, base64: 22 characters and `==`. */
const KEY_GRAMMAR = /^[A-Za-z0-9+/]{22}==$/;

/** The handshake facts needed to judge the app's answer. */
export interface WebSocketHandshake {
  key: string;
  accept: string;
}

export function websocketAccept(key: string): string {
  return createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
}

function tokens(value: string | string[] | undefined): string[] {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '');
}

const notSupported = () =>
  new GatewayError('upgrade_not_supported', 'Only WebSocket upgrades are passed to the application.');
const invalid = (why: string) => new GatewayError('upgrade_invalid', `The WebSocket handshake is not valid: ${why}.`);

/**
 * Only a WebSocket opening handshake may become a tunnel. Other protocols (h2c and the like) would turn the
 * connection into something the gateway cannot read, so every later request on it would escape the checks.
 */
export function checkUpgradeRequest(req: IncomingMessage): WebSocketHandshake {
  const protocols = tokens(req.headers.upgrade);
  if (protocols.length !== 1 || protocols[0] !== 'websocket') throw notSupported();
  if (req.method !== 'GET') throw invalid('the method must be GET');
  if (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') throw invalid('it must not have a body');
  if (req.headers['transfer-encoding'] !== undefined) throw invalid('it must not have a body');
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || !KEY_GRAMMAR.test(key.trim())) throw invalid('Sec-WebSocket-Key is missing or malformed');
  return { key: key.trim(), accept: websocketAccept(key.trim()) };
}

/**
 * True when the app's 101 really switched to WebSocket for this handshake: `Upgrade: websocket`, `Connection`
 * naming `upgrade`, and the accept value derived from this request's key.
 */
export function acceptsHandshake(headers: IncomingHttpHeaders, handshake: WebSocketHandshake): boolean {
  const upgrade = tokens(headers.upgrade);
  if (upgrade.length !== 1 || upgrade[0] !== 'websocket') return false;
  if (!tokens(headers.connection).includes('upgrade')) return false;
  const accept = headers['sec-websocket-accept'];
  return typeof accept === 'string' && accept.trim() === handshake.accept;
}
