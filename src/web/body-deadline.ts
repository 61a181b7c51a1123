import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../core/errors/errors.js';
import { sendError } from './problem.js';

/**
 * A deadline for the body of a request to a gateway endpoint: `408 request_timeout` and the connection closed
 * when the body has not fully arrived `ms` after the handler first saw the request.
 *
 * Node's own `requestTimeout` covers every path, proxied uploads included, which may rightly take many minutes;
 * the gateway's endpoints take small bodies (a token request, a SCIM resource, a sync batch, an event push), so a
 * client that drips one byte every few seconds is holding a connection and a parser open, nothing else.
 */
export function bodyDeadline(ms: number) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (ms <= 0 || req.complete || !hasBody(req)) return next();
    const timer = setTimeout(() => {
      if (req.complete || res.headersSent) return;
      sendError(req, res, new GatewayError('request_timeout', 'The request body did not arrive in time.'), { Connection: 'close' });
      // Close gently once the answer is written (an abrupt close with unread input could reset it away), and
      // for good shortly after, whatever the client keeps sending.
      res.once('finish', () => {
        req.socket.end();
        setTimeout(() => req.socket.destroy(), 1000).unref();
      });
    }, ms);
    timer.unref();
    const done = () => clearTimeout(timer);
    req.once('end', done);
    req.once('close', done);
    res.once('close', done);
    next();
  };
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}
