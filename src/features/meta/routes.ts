import type { Request, Response, Router } from 'express';
import type { AssertionSigner } from '../../core/identity/assertion.js';
import type { Database } from '../../store/db/index.js';
import type { Feature } from '../../web/feature.js';
import { wrap } from '../../web/wrap.js';

/** What the key set and the health checks read. */
export interface MetaDeps {
  db: Pick<Database, 'healthCheck'>;
  assertion: Pick<AssertionSigner, 'jwks'>;
}

/** `GET /jwks.json`, `GET /health/live` and `GET /health/ready`. */
export function createMeta(deps: MetaDeps): Feature {
  return {
    routes(r: Router) {
      r.get('/jwks.json', jwksHandler(deps));
      r.get('/health/live', liveHandler());
      r.get('/health/ready', wrap(readyHandler(deps)));
    },
  };
}

/** `GET /claimgate/jwks.json`: the public keys the app verifies `X-Claimgate-Assertion` with. */
function jwksHandler(deps: MetaDeps) {
  return (_req: Request, res: Response): void => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(deps.assertion.jwks());
  };
}

/** `GET /claimgate/health/live`: the process answers. */
function liveHandler() {
  return (_req: Request, res: Response): void => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok' });
  };
}

/** `GET /claimgate/health/ready`: the database answers and the signing keys are loaded. */
function readyHandler(deps: MetaDeps) {
  return async (_req: Request, res: Response): Promise<void> => {
    res.setHeader('Cache-Control', 'no-store');
    const checks: Record<string, 'ok' | 'failing'> = { database: 'ok', keys: 'ok' };
    try {
      await deps.db.healthCheck();
    } catch {
      checks.database = 'failing';
    }
    if (deps.assertion.jwks().keys.length === 0) checks.keys = 'failing';
    const ok = Object.values(checks).every((v) => v === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', checks });
  };
}
