export { eventRoutes } from './routes.js';
export { EventReceiver, type PushAnswer, type EventAnswer } from './receiver.js';
export { EventVerifier, EVENT_ALGORITHMS } from './verify.js';
export { EventPushError } from './errors.js';
