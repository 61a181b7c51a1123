export { createConsole, type ConsoleDeps } from './routes.js';
