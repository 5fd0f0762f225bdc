import type { WebSocketLike } from '@hocuspocus/server';
import type { WebSocket } from 'ws';
import { type FrameHeader, isSync, messageTypes, permissionDenied, readFrame, syncSteps } from './frames.ts';
import type { SyncRequests } from './sync-budget.ts';

export interface OutboundOptions {
	/** SOCK-2: unsent bytes (`ws.bufferedAmount` plus the message) beyond which the socket is closed. */
	maxUnsentBytes: number;
	/** Whose replies are awaited (SOCK-1); told when each is written out. */
	requests: SyncRequests;
	/** Called once, instead of sending, when a message would take the unsent bytes past the cap. */
	onOverflow(unsentBytes: number, messageBytes: number): void;
}

/**
 * The socket Hocuspocus writes to (it needs only `send`, `close` and `readyState`): every message
 * goes through here, so this is where a socket's unsent bytes are capped (SOCK-2) and where the reply
 * to a sync step 1 is seen leaving (SOCK-1). Outbound frames are only parsed while a reply is awaited.
 */
export function guardOutbound(ws: WebSocket, options: OutboundOptions): WebSocketLike {
	const { requests } = options;
	const header: FrameHeader = { type: -1, subtype: -1 };
	let overflowed = false;
	return {
		get readyState() {
			return ws.readyState;
		},
		close(code?: number, reason?: string) {
			ws.close(code, reason);
		},
		send(data) {
			if (overflowed) return;
			const message = data as Uint8Array;
			const unsentBytes = ws.bufferedAmount;
			if (unsentBytes + message.byteLength > options.maxUnsentBytes) {
				overflowed = true;
				options.onOverflow(unsentBytes, message.byteLength);
				return;
			}
			if (requests.awaiting) {
				const address = readFrame(message, header);
				if (address && requests.isAwaited(address)) {
					if (isSync(header) && header.subtype === syncSteps.step2) {
						// Written to the kernel (or failed): the next step 1 may have a reply of its own.
						ws.send(message, () => requests.settle(address));
						return;
					}
					// No reply will come: refused, or the document connection closed.
					const refused = header.type === messageTypes.auth && header.subtype === permissionDenied;
					if (refused || header.type === messageTypes.close) requests.settle(address);
				}
			}
			ws.send(message);
		}
	};
}
