import type { Router } from 'express';
/** A capability of the gateway, built by the composition root from the narrow dependencies it declares. */
export interface Feature {
  /** Mounts the feature's routes on the gateway's router (under basePath). */
  routes?(router: Router): void;
  /** Starts background work (timers, listeners) once the gateway is built. */
  start?(): Promise<void> | void;
  /** Stops what start (or routes) began; called when the gateway closes. */
  close?(): Promise<void> | void;
}
