// The app renders in the browser only: its data lives in IndexedDB and localStorage, and a
// phone with no signal must open it from the service worker's cached shell.
export const ssr = false;
export const prerender = false;
