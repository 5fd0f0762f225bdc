import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PageHandler } from './app.ts';

/** adapter-node's output folder, next to `server/`. */
export const buildDir = fileURLToPath(new URL('../build/', import.meta.url));

/**
 * SvelteKit's request handler from `build/handler.js` (adapter-node), or null when there is no build
 * (API-only use, tests). Imported dynamically: the build is an artifact, not a source dependency.
 */
export async function loadPageHandler(dir: string = buildDir): Promise<PageHandler | null> {
	const file = `${dir}/handler.js`;
	if (!existsSync(file)) return null;
	const mod = (await import(pathToFileURL(file).href)) as { handler?: PageHandler };
	if (typeof mod.handler !== 'function') throw new Error(`${file} does not export a handler`);
	return mod.handler;
}
