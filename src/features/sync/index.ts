export { createSync, type SyncDeps } from './routes.js';
