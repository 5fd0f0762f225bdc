import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { httpDefaults } from './defaults.ts';
import { sendText } from './respond.ts';

/**
 * Response compression for the sync API (spec SyncCompression; docs/rest-api.md "Limits and compression"): `Accept-Encoding: br`
 * or `gzip`, preferring br, honouring `q=0`. Small bodies go out as they are: compressing them costs
 * more than it saves (the spec's "only use compressed if smaller"). Brotli at a low quality
 * (`httpDefaults.brotliQuality`, measured there): on JSON it costs a sixth of quality 5 for the same size;
 * gzip at level 1 (`httpDefaults.gzipLevel`) for less than half of level 6's CPU, 11 % larger.
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

const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

export async function sendJsonCompressed(
	req: IncomingMessage,
	res: ServerResponse,
	status: number,
	body: unknown,
	headers: Record<string, string> = {}
): Promise<void> {
	if (res.headersSent) return;
	sendCompressedJson(res, status, await compressJson(req, JSON.stringify(body)), headers);
}

/** A JSON body encoded as the request accepts it, ready to send. */
export interface CompressedJson {
	payload: Buffer;
	encoding: 'br' | 'gzip' | null;
}

/**
 * Encodes JSON text (already serialized: a pull page Postgres built as text) as `req` accepts it.
 * Apart from sending, so a route can compress while its sync record's statement is in flight.
 *
 * On libuv's thread pool, not the event loop: a pull page of 5,000 changes (2 MB of JSON) held the
 * event loop — every crew's websocket on this server — for 10.6 ms with `brotliCompressSync`, and
 * 2.6 ms compressed on the pool, for 0.9 ms more wall time (measured 2026-12-03, 20 pages each).
 * The output buffer is as large as the input (at most `compressChunkMaxBytes`), so a page is one
 * pool job rather than one per 16 KB of output.
 */
export async function compressJson(req: IncomingMessage, jsonText: string): Promise<CompressedJson> {
	const json = Buffer.from(jsonText);
	const encoding =
		json.byteLength >= httpDefaults.compressMinBytes ? pickEncoding(req.headers['accept-encoding']) : null;
	if (encoding === null) return { payload: json, encoding };
	const chunkSize = Math.min(Math.max(json.byteLength, 64 * 1024), httpDefaults.compressChunkMaxBytes);
	if (encoding === 'br') {
		const params = {
			[constants.BROTLI_PARAM_QUALITY]: httpDefaults.brotliQuality,
			[constants.BROTLI_PARAM_SIZE_HINT]: json.byteLength
		};
		return { payload: await brotliAsync(json, { params, chunkSize }), encoding };
	}
	return { payload: await gzipAsync(json, { chunkSize, level: httpDefaults.gzipLevel }), encoding };
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
