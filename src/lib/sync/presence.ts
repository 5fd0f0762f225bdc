/** Who else has a document open (Hocuspocus awareness), as the page shows them. */
export interface PresenceUser {
	clientId: number;
	id: string;
	name: string;
	role: string;
	color: string;
}

const PRESENCE_COLORS = ['#b45309', '#0f766e', '#7c3aed', '#be123c', '#1d4ed8', '#4d7c0f'];
const FALLBACK_COLOR = '#555';

/** A person's colour: the same on every device, from their user id. */
export function presenceColor(userId: string): string {
	let h = 0;
	for (const ch of userId) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
	return PRESENCE_COLORS[h % PRESENCE_COLORS.length] ?? FALLBACK_COLOR;
}

/**
 * The other people present, one entry per person (two tabs of one person show once), never this
 * tab or this person. Awareness states are whatever peers sent: every field is checked.
 */
export function presenceList(
	states: ReadonlyMap<number, unknown>,
	self: { clientId: number; userId: string | undefined },
	nameOf: (userId: string) => string | undefined
): PresenceUser[] {
	const seenUsers = new Set<string>();
	const list: PresenceUser[] = [];
	for (const [clientId, state] of states) {
		const u = (state as { user?: Partial<PresenceUser> } | null)?.user;
		if (!u?.id || clientId === self.clientId || u.id === self.userId || seenUsers.has(u.id)) continue;
		seenUsers.add(u.id);
		list.push({
			clientId,
			id: u.id,
			name: u.name || nameOf(u.id) || 'Someone',
			role: u.role ?? '',
			color: u.color ?? FALLBACK_COLOR
		});
	}
	return list;
}
