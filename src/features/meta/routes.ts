import type { Request, Response } from 'express';
import type { GatewayContext } from '../../app/gateway-context.js';

/** `GET /claimgate/jwks.json`: the public keys the app verifies `X-Claimgate-Assertion` with. */
export function jwksHandler(ctx: GatewayContext) {
  return (_req: Request, res: Response): void => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(ctx.assertion.jwks());
  };
}

/** `GET /claimgate/health/live`: the process answers. */
export function liveHandler() {
  return (_req: Request, res: Response): void => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok' });
  };
}

/** `GET /claimgate/health/ready`: the database answers and the signing keys are loaded. */
export function readyHandler(ctx: GatewayContext) {
  return async (_req: Request, res: Response): Promise<void> => {
    res.setHeader('Cache-Control', 'no-store');
    const checks: Record<string, 'ok' | 'failing'> = { database: 'ok', keys: 'ok' };
    try {
      await ctx.db.healthCheck();
    } catch {
      checks.database = 'failing';
    }
    if (ctx.assertion.jwks().keys.length === 0) checks.keys = 'failing';
    const ok = Object.values(checks).every((v) => v === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', checks });
  };
}
