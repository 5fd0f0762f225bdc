import { HybridClock } from '$crdt/clock.ts';
import type { WriteContext } from '$crdt/entity.ts';
import { session } from '$lib/session/store.svelte.ts';

/**
 * Transaction origin of every write this tab makes through the crdt views (WriteContext.origin).
 * The undo managers track exactly this origin: a user undoes their own edits, never anyone else's.
 */
export const LOCAL_ORIGIN = { source: 'khs-local' } as const;
/** Origin of undo and redo writes: local edits like any other, but never undo steps themselves. */
export const UNDO_ORIGIN = { source: 'khs-undo' } as const;

/** One HLC per device (tab); the crdt views observe every stamp before writing (SPEC HLC-2). */
const deviceClock = new HybridClock();

/** Who writes from this tab, with the tab's clock: what every crdt view of a document writes with. */
export function writeContext(): WriteContext {
	const user = session.current?.user;
	if (!user) throw new Error('not signed in');
	return {
		writer: { userId: user.id, deviceId: session.deviceId, role: user.role },
		clock: deviceClock,
		origin: LOCAL_ORIGIN
	};
}
