import { SyncError } from './errors.ts';

/**
 * Sync tokens: opaque to clients, a position in the change log to us. The position is the last
 * delivered `(txid, seq)` in the feed's order (server/sync/change-feed.ts); both survive restarts, so
 * tokens do too. `v1.` leaves room to change the encoding without breaking stored tokens.
 */
export interface FeedPosition {
	/** Transaction id (xid8, as decimal text: it can exceed 2^53). */
	txid: string;
	seq: number;
	/**
	 * Set while a full pull (from no token) pages through rows that retention kept below its
	 * horizon: the horizon when that pull began. The token is behind only when the horizon has moved
	 * past both the position and this floor (docs/server-rules.md FEED-4).
	 */
	floor?: { txid: string; seq: number } | undefined;
}

/** Feed order of two positions: negative, 0 or positive (txid compared as a 64-bit number). */
export function comparePositions(a: { txid: string; seq: number }, b: { txid: string; seq: number }): number {
	const ta = BigInt(a.txid);
	const tb = BigInt(b.txid);
	if (ta !== tb) return ta < tb ? -1 : 1;
	return a.seq - b.seq;
}

export const START_POSITION: FeedPosition = { txid: '0', seq: 0 };

const PREFIX = 'v1.';
const BODY = /^(\d{1,20}):(\d{1,19})(?::(\d{1,20}):(\d{1,19}))?$/;

export function encodeToken(position: FeedPosition): string {
	return (
		PREFIX +
		btoa(
			position.floor && comparePositions(position.floor, position) > 0
				? `${position.txid}:${position.seq}:${position.floor.txid}:${position.floor.seq}`
				: `${position.txid}:${position.seq}`
		)
			.replace(/=+$/, '')
			.replace(/\+/g, '-')
			.replace(/\//g, '_')
	);
}

/** The position of a token; `undefined`/empty means "from the beginning". Throws `invalid_token`. */
export function decodeToken(token: string | null | undefined): FeedPosition {
	if (token === undefined || token === null || token === '') return START_POSITION;
	const invalid = () =>
		new SyncError('invalid_token', 'lastSyncToken is not a token this server issued', 'lastSyncToken');
	if (!token.startsWith(PREFIX)) throw invalid();
	let body: string;
	try {
		body = atob(token.slice(PREFIX.length).replace(/-/g, '+').replace(/_/g, '/'));
	} catch {
		throw invalid();
	}
	const match = BODY.exec(body);
	if (!match?.[1] || !match[2]) throw invalid();
	const seq = Number(match[2]);
	if (!Number.isSafeInteger(seq)) throw invalid();
	const position: FeedPosition = { txid: BigInt(match[1]).toString(), seq };
	if (match[3] && match[4]) {
		const floorSeq = Number(match[4]);
		if (!Number.isSafeInteger(floorSeq)) throw invalid();
		position.floor = { txid: BigInt(match[3]).toString(), seq: floorSeq };
	}
	return position;
}
