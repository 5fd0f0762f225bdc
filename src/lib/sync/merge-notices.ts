import type { Entity } from '$crdt/entity.ts';
import type { JsonScalar, RegisterEntry } from '$crdt/resolvers.ts';
import { fieldWords } from '$crdt/schema.ts';

/**
 * "When a merge changed what the user wrote, they are told in plain words" (docs/architecture.md
 * "The app", Merge notices). A merge
 * changed what I wrote exactly when my own write is still a live entry of a register (nobody has
 * overwritten it after seeing it) and yet the register resolves to another value — some
 * concurrent write won under the field's rule. USER_CHOICE fields are not notices but conflicts
 * with a choice (the conflict inbox).
 */
export interface MergeNotice {
	/** Stable per (entity, field, my write): one notice per merge, not per re-render. */
	key: string;
	entityId: string;
	field: string;
	/** Plain-words sentence, e.g. "Quantity is 8, not 3: Ana raised it while you were offline." */
	text: string;
	/** Which side this person is on: their value lost (`lost`) or stood over another (`kept`). */
	side: 'lost' | 'kept';
	/** The value this person wrote, for an action that puts it back (`lost` only). */
	mine: JsonScalar;
}

export interface NoticeContext {
	userId: string;
	deviceId: string;
	/** Display name of a user id, or undefined when unknown. */
	nameOf: (userId: string) => string | undefined;
	/** Whether this device was offline at a given time (ms). */
	wasOffline: (at: number) => boolean;
	/** When the winning entry arrived here (ms); for "while working offline". */
	now: number;
	offlineWriteAgeMs: number;
}

/** A field's short name where it leads a line: the schema's `heading` (crdt/schema.ts). */
export function fieldLabel(field: string): string {
	return fieldWords(field).heading ?? field;
}

export function formatValue(field: string, value: JsonScalar): string {
	if (field === 'purchased') return value ? 'ticked' : 'not ticked';
	if (field === 'deleted') return value ? 'deleted' : 'kept';
	if (field === 'status' && typeof value === 'string') return value.replace('_', ' ');
	if ((field === 'scheduledStart' || field === 'scheduledEnd') && typeof value === 'number') {
		return new Date(value).toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
	}
	if (value === null || value === '') return 'empty';
	return String(value);
}

export function mergeNotices(entities: Iterable<Entity>, ctx: NoticeContext): MergeNotice[] {
	const found: MergeNotice[] = [];
	for (const entity of entities) {
		for (const [field, spec] of Object.entries(entity.def.fields)) {
			if (spec.kind !== 'register' || spec.resolver === 'userChoice' || field === 'createdAt') continue;
			const state = entity.field(field);
			if (state.entries.length < 2) continue;
			const mine = state.entries.find((e) => e.u === ctx.userId && e.d === ctx.deviceId);
			if (!mine) continue;
			if (sameValue(mine.v, state.value)) {
				// Both sides are told: mine stood over a concurrent different value of someone else's.
				const other = state.entries.filter((e) => e !== mine && !sameValue(e.v, state.value)).at(-1);
				if (!other) continue;
				found.push({
					key: `${entity.id}|${field}|${other.t}.${other.c}|kept`,
					entityId: entity.id,
					field,
					side: 'kept',
					mine: mine.v,
					text: keptSentence(field, state.resolver, state.value, mine, other, ctx)
				});
				continue;
			}
			const winner = latestWith(state.entries, state.value, mine);
			if (!winner) continue;
			found.push({
				key: `${entity.id}|${field}|${mine.t}.${mine.c}`,
				entityId: entity.id,
				field,
				side: 'lost',
				mine: mine.v,
				text: sentence(field, state.resolver, state.value, mine, winner, ctx)
			});
		}
	}
	return found;
}

function sameValue(a: JsonScalar, b: JsonScalar): boolean {
	return a === b;
}

function latestWith(entries: readonly RegisterEntry[], value: JsonScalar, mine: RegisterEntry) {
	// Entries arrive sorted by stamp; the last one holding the winning value is "who did it".
	return entries.filter((e) => e !== mine && e.v === value).at(-1);
}

/** How far apart two writes were, in words: "a few seconds", "4 min", "2 h". */
export function apart(ms: number): string {
	const s = Math.abs(ms) / 1000;
	if (s < 10) return 'a few seconds';
	if (s < 90) return `${Math.round(s)} s`;
	if (s < 90 * 60) return `${Math.round(s / 60)} min`;
	if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
	return `${Math.round(s / 86_400)} days`;
}

/**
 * When theirs was made, truthfully: "at the same time" only when it was; otherwise how long before
 * or after mine, and who was offline. Two writes that did not see each other although they were
 * made apart (or theirs arrived long after it was made): one of the two was offline.
 */
function timing(mine: RegisterEntry, theirs: RegisterEntry, ctx: NoticeContext): string {
	const gap = theirs.t - mine.t;
	const theirsOffline =
		Math.abs(gap) > ctx.offlineWriteAgeMs / 3 || ctx.now - theirs.t > ctx.offlineWriteAgeMs;
	const offline = ctx.wasOffline(mine.t)
		? 'while you were offline'
		: theirsOffline
			? 'while working offline'
			: '';
	if (Math.abs(gap) < 10_000) return offline || 'at the same time';
	return `${offline}, ${apart(gap)} ${gap < 0 ? 'before' : 'after'} your change`.replace(/^, /, '');
}

function nameOfWriter(entry: RegisterEntry, ctx: NoticeContext, self: string): string {
	return entry.u === ctx.userId
		? self
		: (ctx.nameOf(entry.u) ?? (entry.r === 'OWNER' ? 'The owner' : 'A crew member'));
}

function keptSentence(
	field: string,
	resolver: string,
	value: JsonScalar,
	mine: RegisterEntry,
	other: RegisterEntry,
	ctx: NoticeContext
): string {
	const who = nameOfWriter(other, ctx, 'your other device');
	const whose = who === 'your other device' ? 'your other device’s' : `${who}’s`;
	const why =
		resolver === 'max'
			? 'The higher amount is kept.'
			: resolver === 'or'
				? 'A tick wins over an un-tick when neither saw the other.'
				: resolver === 'role' && mine.r === 'OWNER' && other.r !== 'OWNER'
					? "The owner's change wins."
					: 'The later change wins.';
	return `${fieldLabel(field)} is ${formatValue(field, value)}: your change was kept over ${whose} ${formatValue(field, other.v)}, made ${timing(mine, other, ctx)}. ${why}`;
}

function sentence(
	field: string,
	resolver: string,
	value: JsonScalar,
	mine: RegisterEntry,
	winner: RegisterEntry,
	ctx: NoticeContext
): string {
	const who = nameOfWriter(winner, ctx, 'You, on another device,');
	const when = timing(mine, winner, ctx);
	const lead =
		typeof value === 'boolean'
			? `${fieldLabel(field)} is ${formatValue(field, value)}`
			: `${fieldLabel(field)} is ${formatValue(field, value)}, not ${formatValue(field, mine.v)}`;
	switch (resolver) {
		case 'max':
			return `${lead}: ${who} raised it ${when}. The higher amount is kept.`;
		case 'or':
			return `${lead}: ${who} ticked it ${when}. A tick wins over an un-tick when neither saw the other.`;
		case 'role':
			return `${lead}: ${who} changed it ${when}. ${winner.r === 'OWNER' && mine.r !== 'OWNER' ? "The owner's change wins." : 'The later change wins.'}`;
		default:
			return `${lead}: ${who} changed it ${when}. The later change wins.`;
	}
}

/** Remembers which notices were shown, across reloads, so a merge is told once. */
export class SeenNotices {
	private readonly seen: Set<string>;

	constructor(
		private readonly storage: Storage | null,
		private readonly key = 'khs:notices-seen',
		private readonly limit = 500
	) {
		let initial: string[] = [];
		try {
			initial = JSON.parse(storage?.getItem(key) ?? '[]') as string[];
		} catch {
			initial = [];
		}
		this.seen = new Set(initial);
	}

	/** True the first time a key is offered. */
	firstTime(key: string): boolean {
		if (this.seen.has(key)) return false;
		this.seen.add(key);
		const keep = [...this.seen].slice(-this.limit);
		try {
			this.storage?.setItem(this.key, JSON.stringify(keep));
		} catch {
			// Storage full: worst case a notice shows again after a reload.
		}
		return true;
	}
}
