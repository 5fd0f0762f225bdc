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
}

export const START_POSITION: FeedPosition = { txid: '0', seq: 0 };

const PREFIX = 'v1.';
const BODY = /^(\d{1,20}):(\d{1,19})$/;

export function encodeToken(position: FeedPosition): string {
	return (
		PREFIX +
		btoa(`${position.txid}:${position.seq}`).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
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
	return { txid: BigInt(match[1]).toString(), seq };
}
