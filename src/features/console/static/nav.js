import { consoleUrl } from './api.js';

/** Goes to another console page (the router in app.js draws it, as for the back button). */
export function navigate(path) {
  history.pushState(null, '', consoleUrl(path));
  window.dispatchEvent(new Event('popstate'));
}
