import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import { checkFrame } from './frames.ts';

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
