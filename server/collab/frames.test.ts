import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import { checkFrame, type FrameHeader, isSync, readFrame, syncSteps } from './frames.ts';

function frame(name: string, type: number, ...rest: number[]): Uint8Array {
	const e = encoding.createEncoder();
	encoding.writeVarString(e, name);
	encoding.writeVarUint(e, type);
	for (const b of rest) encoding.writeUint8(e, b);
	return encoding.toUint8Array(e);
}

describe('checkFrame', () => {
	it('forwards well-formed frames, known doc name or not', () => {
		expect(checkFrame(frame('job:7f1c9d56-3f7e-4a57-9a3e-0c8a3b1d2e4f', 2, 0))).toBe('forward');
		expect(checkFrame(frame('nonsense', 0, 1, 2))).toBe('forward');
	});

	it('ignores a bare pong', () => {
		expect(checkFrame(Uint8Array.of(10))).toBe('ignore');
	});

	it('rejects truncated, invalid UTF-8, unknown types and empty frames', () => {
		expect(checkFrame(new Uint8Array())).toBe('malformed');
		expect(checkFrame(Uint8Array.of(50, 1, 2))).toBe('malformed');
		expect(checkFrame(Uint8Array.of(2, 0xff, 0xfe, 0))).toBe('malformed');
		expect(checkFrame(frame('x', 42))).toBe('malformed');
		expect(checkFrame(frame('x', 0).subarray(0, 2))).toBe('malformed');
		expect(checkFrame(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff))).toBe('malformed');
	});
});

describe('readFrame header', () => {
	it('reports the message type and the sync step the socket limits key on (SOCK-1, SOCK-3)', () => {
		const header: FrameHeader = { type: -1, subtype: -1 };
		expect(readFrame(frame('materials:x', 0, syncSteps.step1, 0), header)).toBe('materials:x');
		expect(header).toEqual({ type: 0, subtype: syncSteps.step1 });
		expect(isSync(header)).toBe(true);
		readFrame(frame('materials:x', 4, syncSteps.update, 0), header);
		expect(header).toEqual({ type: 4, subtype: syncSteps.update });
		expect(isSync(header)).toBe(true);
		readFrame(frame('materials:x', 2, 1), header);
		expect(header).toEqual({ type: 2, subtype: 1 });
		expect(isSync(header)).toBe(false);
		readFrame(frame('materials:x', 1, 5), header);
		expect(header).toEqual({ type: 1, subtype: -1 });
	});

	it('leaves the sync step -1 when a sync frame stops after its type', () => {
		const header: FrameHeader = { type: -1, subtype: -1 };
		expect(readFrame(frame('x', 0), header)).toBe('x');
		expect(header).toEqual({ type: 0, subtype: -1 });
		expect(readFrame(Uint8Array.of(10), header)).toBeUndefined();
		expect(header).toEqual({ type: 10, subtype: -1 });
	});
});
