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
	sendCompressedJson(res, status, compressJson(req, JSON.stringify(body)), headers);
}

/** A JSON body encoded as the request accepts it, ready to send. */
export interface CompressedJson {
	payload: Buffer;
	encoding: 'br' | 'gzip' | null;
}

/**
 * Encodes JSON text (already serialized: a pull page Postgres built as text) as `req` accepts it.
 * Apart from sending, so a route can compress while its sync record's statement is in flight.
 */
export function compressJson(req: IncomingMessage, jsonText: string): CompressedJson {
	const json = Buffer.from(jsonText);
	const encoding =
		json.byteLength >= httpDefaults.compressMinBytes ? pickEncoding(req.headers['accept-encoding']) : null;
	if (encoding === 'br') {
		const payload = brotliCompressSync(json, {
			params: {
				[constants.BROTLI_PARAM_QUALITY]: httpDefaults.brotliQuality,
				[constants.BROTLI_PARAM_SIZE_HINT]: json.byteLength
			}
		});
		return { payload, encoding };
	}
	if (encoding === 'gzip') return { payload: gzipSync(json), encoding };
	return { payload: json, encoding: null };
}

export function sendCompressedJson(
	res: ServerResponse,
	status: number,
	body: CompressedJson,
	headers: Record<string, string> = {}
): void {
	sendText(res, status, body.payload, 'application/json; charset=utf-8', {
		vary: 'Accept-Encoding',
		...(body.encoding ? { 'content-encoding': body.encoding } : {}),
		...headers
	});
}
