export { createScim, type ScimFeatureDeps, type ScimRuleSource } from './routes.js';
