import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { toUpgradeRequest } from './websocket.ts';

const upgrade = (url: string, headers: IncomingMessage['headers']) => ({ url, headers }) as IncomingMessage;

describe('toUpgradeRequest', () => {
	it('gives Hocuspocus the path and query, and every header, as a Fetch Request would', () => {
		const request = toUpgradeRequest(
			upgrade('/collab?deviceId=phone-1', {
				host: 'sync.example:3000',
				'x-multi': ['a', 'b'],
				'x-unset': undefined
			})
		);
		// No scheme: Hocuspocus reads the parameters with URLSearchParams, not `new URL`, per update.
		expect(request.url).toBe('/collab?deviceId=phone-1');
		expect(new URLSearchParams(request.url.split('?')[1]).get('deviceId')).toBe('phone-1');
		expect(request.headers.get('x-multi')).toBe('a, b');
		expect(request.headers.has('x-unset')).toBe(false);
		// Only what Hocuspocus reads: no Fetch Request (its AbortSignal and state) per socket.
		expect(Object.keys(request).sort()).toEqual(['headers', 'url']);
	});

	it('survives a hostile Host header and header values the Fetch API rejects', () => {
		const request = toUpgradeRequest(
			upgrade('//evil.example/../collab?deviceId=x', { host: 'bad host/?#', 'x-bad': 'a\u0000b' })
		);
		expect(request.url).toBe('/collab?deviceId=x');
		expect(request.headers.has('x-bad')).toBe(false);
	});
});
