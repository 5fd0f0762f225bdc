import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PageHandler } from './app.ts';
import { sendText } from './http/respond.ts';

/** adapter-node's output folder, next to `server/`. */
export const buildDir = fileURLToPath(new URL('../build/', import.meta.url));

export interface LoadPageHandlerOptions {
	/** The build folder; default `buildDir`. */
	dir?: string;
	/**
	 * A page request failed before the handler was loaded (it answered 500). A build that fails to
	 * load is tried again on the next request.
	 */
	onError?: (error: unknown) => void;
}

/**
 * SvelteKit's request handler from `build/handler.js` (adapter-node), or null when there is no build
 * (API-only use, tests). Imported dynamically: the build is an artifact, not a source dependency.
 * Imported on the first page request, not at start: it holds ~4 MB of RSS (RSS after start and two
 * GCs, 2026-12-02: 109.4–110.1 MB with it loaded at start, 105.1–106.2 MB without) that a server whose
 * clients only sync never needs.
 */
export function loadPageHandler(options: LoadPageHandlerOptions = {}): PageHandler | null {
	const file = `${options.dir ?? buildDir}/handler.js`;
	if (!existsSync(file)) return null;
	let handler: PageHandler | undefined;
	let loading: Promise<PageHandler> | undefined;
	const load = async () => {
		const mod = (await import(pathToFileURL(file).href)) as { handler?: unknown };
		if (typeof mod.handler !== 'function') throw new Error(`${file} does not export a handler`);
		return mod.handler as PageHandler;
	};
	return (req, res, next) => {
		// Loaded: called directly, so what it throws reaches the app's request error handling.
		if (handler) return handler(req, res, next);
		loading ??= load();
		loading.then(
			(loaded) => {
				handler = loaded;
				try {
					loaded(req, res, next);
				} catch (error) {
					// Outside the app's request error handling here (a promise callback): answer it ourselves.
					options.onError?.(error);
					if (!res.headersSent) sendText(res, 500, 'Internal Server Error');
				}
			},
			(error: unknown) => {
				loading = undefined;
				options.onError?.(error);
				sendText(res, 500, 'Internal Server Error');
			}
		);
	};
}
