import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { waitFor, waitForDocs } from '../../support/wait.ts';

/** `ws://host:port/yjs` for a server whose `/collab` url is `collabUrl` (docs/y-websocket.md DIAL-1). */
export function yjsUrl(collabUrl: string): string {
	return collabUrl.replace(/\/collab$/, '/yjs');
}

/** A close the server sent to a y-websocket provider. */
export interface ServerClose {
	code: number;
	reason: string;
}

/**
 * The unmodified `y-websocket` provider as an integrator would open it, on Node's global WebSocket.
 * `disableBc`: providers of one document in one process would otherwise also sync through a
 * BroadcastChannel and converge without the server.
 */
export class YClient {
	readonly provider: WebsocketProvider;
	/** Every close the server sent, in order. */
	readonly closes: ServerClose[] = [];

	constructor(
		url: string,
		readonly name: string,
		token: string | undefined,
		readonly doc = new Y.Doc()
	) {
		this.provider = new WebsocketProvider(url, name, doc, {
			params: token === undefined ? {} : { token },
			disableBc: true,
			WebSocketPolyfill: WebSocket
		});
		this.provider.on('connection-close', (event) => {
			if (event) this.closes.push({ code: event.code, reason: event.reason });
		});
	}

	synced(ms = 15_000): Promise<void> {
		return waitFor(
			`y-websocket sync of ${this.name}`,
			(done) => {
				if (this.provider.synced) return done();
				this.provider.on('sync', (state: boolean) => state && done());
			},
			ms
		);
	}

	/** The first close the server sent (now or later). */
	closed(ms = 10_000): Promise<ServerClose> {
		return waitFor(
			`server close of ${this.name}`,
			(done) => {
				const [first] = this.closes;
				if (first) return done(first);
				this.provider.on('connection-close', (event) => {
					if (event) done({ code: event.code, reason: event.reason });
				});
			},
			ms
		);
	}

	destroy(): void {
		this.provider.destroy();
	}
}

/** Resolves once `check` holds, re-checked after every update of any of `docs` (tests/support/wait.ts). */
export function until(docs: Y.Doc[], check: () => boolean, what: string, ms = 15_000): Promise<void> {
	return waitForDocs(docs, check, { what, timeoutMs: ms });
}
