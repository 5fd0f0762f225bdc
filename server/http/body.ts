import type { IncomingMessage } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { httpDefaults } from './defaults.ts';
import { HttpError } from './errors.ts';

function tooLarge(maxBytes: number): HttpError {
	return new HttpError(413, 'body_too_large', `request body exceeds ${maxBytes} bytes`);
}

/**
 * Reads the whole request body, decompressing `Content-Encoding: gzip|br|deflate`, and fails with
 * 413 as soon as the raw or the decompressed size passes `maxBytes` (a small gzip bomb must not
 * inflate into memory).
 */
export async function readBody(
	req: IncomingMessage,
	maxBytes: number = httpDefaults.maxBodyBytes
): Promise<Buffer> {
	const declared = Number(req.headers['content-length']);
	if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);

	const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
	let decompressor: Transform | undefined;
	if (encoding === 'gzip' || encoding === 'x-gzip') decompressor = createGunzip();
	else if (encoding === 'br') decompressor = createBrotliDecompress();
	else if (encoding === 'deflate') decompressor = createInflate();
	else if (encoding !== 'identity') {
		throw new HttpError(415, 'unsupported_encoding', `Content-Encoding "${encoding}" is not supported`);
	}
	const source: Readable = decompressor ? req.pipe(decompressor) : req;

	// Events, not `for await`: leaving a `for await` early destroys the request, and with it the
	// socket, so the client would see a reset instead of our 413. Past the limit we keep reading and
	// discard; the router answers and drains the rest, bounded (HTTP-2 in docs/server-rules.md).
	return new Promise<Buffer>((resolve, reject) => {
		const chunks: Buffer[] = [];
		let rawBytes = 0;
		let total = 0;
		let failed = false;
		const fail = (error: HttpError) => {
			if (failed) return;
			failed = true;
			chunks.length = 0;
			if (decompressor) {
				req.unpipe(decompressor);
				decompressor.destroy();
				req.resume();
			}
			reject(error);
		};
		if (decompressor) {
			req.on('data', (chunk: Buffer) => {
				rawBytes += chunk.byteLength;
				if (rawBytes > maxBytes) fail(tooLarge(maxBytes));
			});
			req.on('error', () => fail(new HttpError(400, 'aborted', 'request body was aborted')));
		}
		source.on('data', (chunk: Buffer) => {
			if (failed) return;
			total += chunk.byteLength;
			if (total > maxBytes) return fail(tooLarge(maxBytes));
			chunks.push(chunk);
		});
		source.on('error', () =>
			fail(
				source === req
					? new HttpError(400, 'aborted', 'request body was aborted')
					: new HttpError(400, 'bad_encoding', `request body is not valid ${encoding}`)
			)
		);
		source.on('end', () => {
			if (!failed) resolve(Buffer.concat(chunks, total));
		});
	});
}

/** Reads and parses a JSON body; 400 `malformed_json` when it is not JSON. */
export async function readJsonBody(req: IncomingMessage, maxBytes?: number): Promise<unknown> {
	const body = await readBody(req, maxBytes);
	if (body.byteLength === 0)
		throw new HttpError(400, 'malformed_json', 'request body is empty; expected JSON');
	try {
		return JSON.parse(body.toString('utf8'));
	} catch {
		throw new HttpError(400, 'malformed_json', 'request body is not valid JSON');
	}
}
