import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import { readFrame } from './frames.ts';
import { accessRevokedReason } from './revoke.ts';
import {
	authFrame,
	documentCloseCode,
	refusalCloseCode,
	transientCloseCode,
	translateOutbound,
	yWebsocketRoute
} from './y-websocket-dialect.ts';

/** The translation rules of docs/y-websocket.md, frame by frame (the live protocol: tests/integration/y-websocket.test.ts). */
const name = 'materials:7b0c6f8e-3a57-4a4e-9a59-3f4f1f7f0b11';

function hocuspocusFrame(write: (encoder: encoding.Encoder) => void): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarString(encoder, name);
	write(encoder);
	return encoding.toUint8Array(encoder);
}

describe('y-websocket dialect translation', () => {
	it('DIAL-1: routes /yjs/<name> with its token; decodes the name; refuses an empty or undecodable one', () => {
		const url = (path: string) => new URL(path, 'http://localhost');
		expect(yWebsocketRoute(url(`/yjs/${name}?token=abc`))).toEqual({ documentName: name, token: 'abc' });
		expect(yWebsocketRoute(url(`/yjs/${encodeURIComponent(name)}`))).toEqual({
			documentName: name,
			token: ''
		});
		expect(yWebsocketRoute(url('/yjs/'))).toBe(404);
		expect(yWebsocketRoute(url('/yjs/%E0%A4%A'))).toBe(400);
		expect(yWebsocketRoute(url('/collab'))).toBeUndefined();
		expect(yWebsocketRoute(url('/yjsx/a'))).toBeUndefined();
	});

	it('DIAL-3: the synthetic Auth(Token) frame passes the shared frame check and carries the token', () => {
		const frame = authFrame({ documentName: name, token: 't0ken' });
		expect(readFrame(frame)).toBe(name);
		const decoder = decoding.createDecoder(frame);
		expect(decoding.readVarString(decoder)).toBe(name);
		expect([decoding.readVarUint(decoder), decoding.readVarUint(decoder)]).toEqual([2, 0]);
		expect(decoding.readVarString(decoder)).toBe('t0ken');
	});

	it('DIAL-5: strips the prefix of Sync, Awareness and QueryAwareness; SyncReply becomes Sync', () => {
		for (const type of [0, 1, 3]) {
			const frame = hocuspocusFrame((e) => {
				encoding.writeVarUint(e, type);
				encoding.writeVarUint8Array(e, new Uint8Array([9, 8, 7]));
			});
			const out = translateOutbound(frame);
			expect(out.kind).toBe('send');
			if (out.kind === 'send') expect([...out.frame]).toEqual([type, 3, 9, 8, 7]);
		}
		const reply = translateOutbound(
			hocuspocusFrame((e) => {
				encoding.writeVarUint(e, 4);
				encoding.writeVarUint(e, 1);
			})
		);
		expect(reply).toEqual({ kind: 'send', frame: new Uint8Array([0, 1]) });
	});

	it('DIAL-5: drops Authenticated, Stateless, BroadcastStateless, SyncStatus, Ping and Pong; answers a token request', () => {
		const frames: Array<(e: encoding.Encoder) => void> = [
			(e) => {
				encoding.writeVarUint(e, 2);
				encoding.writeVarUint(e, 2);
				encoding.writeVarString(e, 'read-write');
			},
			(e) => {
				encoding.writeVarUint(e, 5);
				encoding.writeVarString(e, '{"type":"khs:durable","stateVector":""}');
			},
			(e) => {
				encoding.writeVarUint(e, 6);
				encoding.writeVarString(e, 'x');
			},
			(e) => {
				encoding.writeVarUint(e, 8);
				encoding.writeVarUint(e, 1);
			},
			(e) => encoding.writeVarUint(e, 9),
			(e) => encoding.writeVarUint(e, 10)
		];
		for (const write of frames) expect(translateOutbound(hocuspocusFrame(write))).toEqual({ kind: 'drop' });
		const tokenRequest = hocuspocusFrame((e) => {
			encoding.writeVarUint(e, 2);
			encoding.writeVarUint(e, 0);
		});
		expect(translateOutbound(tokenRequest)).toEqual({ kind: 'token' });
	});

	it('DIAL-6: a permission-denied closes with 4401 for token reasons, 4403 for the document, 1011 for access errors', () => {
		const denied = (reason: string) =>
			translateOutbound(
				hocuspocusFrame((e) => {
					encoding.writeVarUint(e, 2);
					encoding.writeVarUint(e, 1);
					encoding.writeVarString(e, reason);
				})
			);
		expect(denied('forbidden')).toEqual({ kind: 'close', code: 4403, reason: 'forbidden' });
		expect(denied('unknown_document')).toEqual({ kind: 'close', code: 4403, reason: 'unknown_document' });
		expect(denied('expired')).toEqual({ kind: 'close', code: 4401, reason: 'expired' });
		for (const reason of ['missing', 'malformed', 'bad_signature', 'unknown_user', 'permission-denied']) {
			expect(refusalCloseCode(reason)).toBe(4401);
		}
		expect(refusalCloseCode('access_error')).toBe(1011);
		// Not an own property: `toString` must not be read off the prototype.
		expect(refusalCloseCode('toString')).toBe(4401);
	});

	it('DIAL-7: a Close message ends the socket: 4403 when access was revoked, 4205 when transient', () => {
		const close = (reason: string) =>
			translateOutbound(
				hocuspocusFrame((e) => {
					encoding.writeVarUint(e, 7);
					encoding.writeVarString(e, reason);
				})
			);
		expect(close(accessRevokedReason)).toEqual({ kind: 'close', code: 4403, reason: accessRevokedReason });
		expect(documentCloseCode('Forbidden')).toBe(4403);
		expect(documentCloseCode('Unauthorized')).toBe(4401);
		expect(close('Reset Connection')).toEqual({ kind: 'close', code: 4205, reason: 'Reset Connection' });
	});

	it('DIAL-8: Hocuspocus close codes in 4400–4499 other than 4401/4403 move to the retry range', () => {
		expect(transientCloseCode(4408)).toBe(4508);
		expect(transientCloseCode(4401)).toBe(4401);
		expect(transientCloseCode(4403)).toBe(4403);
		for (const code of [1001, 1002, 1003, 1008, 1009, 4205, 4508])
			expect(transientCloseCode(code)).toBe(code);
		expect(transientCloseCode(undefined)).toBeUndefined();
	});
});
