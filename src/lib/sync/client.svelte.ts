import { syncHistory } from './log.ts';
import { SyncHub } from './sync-hub.svelte.ts';

/**
 * The client sync layer's entry point: the tab's one `SyncHub` (sync-hub.svelte.ts: the socket and
 * the open documents), each open document a `DocSession` (doc-session.svelte.ts). Pages import
 * `sync` and the types from here.
 */
export type { DocSession } from './doc-session.svelte.ts';
export type { PresenceUser } from './presence.ts';
export { LOCAL_ORIGIN, UNDO_ORIGIN, writeContext } from './write-context.ts';

export const sync = new SyncHub();

// A handle for the browser console and the end-to-end tests (e.g. to attempt a write the UI does
// not offer and watch the server undo it), and to read the sync history when a test fails. It
// grants nothing: the server enforces every rule.
if (typeof window !== 'undefined') (window as unknown as { __khs: unknown }).__khs = { sync, syncHistory };
