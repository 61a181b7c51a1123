import type { GatewayParts } from './parts.js';

/**
 * The whole-gateway context the admin, console, SCIM, sync and events route modules still take (built only by
 * app/legacy-b.ts). The other features receive narrow dependencies instead.
 */
export type GatewayContext = GatewayParts & {
  /** Registers background work a route module started, stopped when the gateway closes. */
  onClose?: (stop: () => Promise<void>) => void;
};
