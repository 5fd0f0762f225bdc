import type { IncomingMessage, ServerResponse } from 'node:http';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { httpDefaults } from './defaults.ts';
import { sendText } from './respond.ts';

/**
 * Response compression for the sync API (spec SyncCompression; docs/rest-api.md "Limits and compression"): `Accept-Encoding: br`
 * or `gzip`, preferring br, honouring `q=0`. Small bodies go out as they are: compressing them costs
 * more than it saves (the spec's "only use compressed if smaller"). Brotli at a low quality
 * (`httpDefaults.brotliQuality`, measured there): on JSON it costs a sixth of quality 5 for the same size.
 */
export function pickEncoding(acceptEncoding: string | undefined): 'br' | 'gzip' | null {
	if (!acceptEncoding) return null;
	const accepted = new Map<string, number>();
	for (const part of acceptEncoding.split(',')) {
		const [name = '', ...params] = part.trim().toLowerCase().split(';');
		const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
		accepted.set(name.trim(), q ? Number(q.slice(2)) || 0 : 1);
	}
	const wildcard = accepted.get('*');
	const weight = (name: string) => accepted.get(name) ?? wildcard ?? 0;
	if (weight('br') > 0 && weight('br') >= weight('gzip')) return 'br';
	if (weight('gzip') > 0) return 'gzip';
	return null;
}

export function sendJsonCompressed(
	req: IncomingMessage,
	res: ServerResponse,
	status: number,
	body: unknown,
	headers: Record<string, string> = {}
): void {
	if (res.headersSent) return;
	const json = Buffer.from(JSON.stringify(body));
	const encoding =
		json.byteLength >= httpDefaults.compressMinBytes ? pickEncoding(req.headers['accept-encoding']) : null;
	let payload: Buffer = json;
	if (encoding === 'br') {
		payload = brotliCompressSync(json, {
			params: {
				[constants.BROTLI_PARAM_QUALITY]: httpDefaults.brotliQuality,
				[constants.BROTLI_PARAM_SIZE_HINT]: json.byteLength
			}
		});
	} else if (encoding === 'gzip') payload = gzipSync(json);
	sendText(res, status, payload, 'application/json; charset=utf-8', {
		vary: 'Accept-Encoding',
		...(encoding ? { 'content-encoding': encoding } : {}),
		...headers
	});
}
