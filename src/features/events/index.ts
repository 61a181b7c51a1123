export { createEvents, type EventsDeps } from './routes.js';
export { EventReceiver, type PushAnswer, type EventAnswer } from './receiver.js';
export { EventVerifier, EVENT_ALGORITHMS } from './verify.js';
export { EventPushError } from './errors.js';
export { FullSyncStep, type ReconcileRun } from './full-sync-step.js';
