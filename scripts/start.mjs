// `npm start`: build the SvelteKit app when build/ is missing or older than its sources, then run
// the server in THIS process (tsx registered in-process), so signals and `kill -9` reach the server
// itself rather than a wrapper.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const builtFile = join(root, 'build', 'handler.js');
// Everything the client bundle is built from (crdt/ is imported through the $crdt alias).
const sources = ['src', 'crdt', 'static', 'svelte.config.js', 'vite.config.ts', 'package.json'];

function newestMtimeMs(path) {
	if (!existsSync(path)) return 0;
	const stat = statSync(path);
	if (!stat.isDirectory()) return stat.mtimeMs;
	let newest = stat.mtimeMs;
	for (const entry of readdirSync(path)) {
		if (entry === 'node_modules' || entry.startsWith('.')) continue;
		newest = Math.max(newest, newestMtimeMs(join(path, entry)));
	}
	return newest;
}

function buildIsStale() {
	if (!existsSync(builtFile)) return true;
	const built = statSync(builtFile).mtimeMs;
	return sources.some((s) => newestMtimeMs(join(root, s)) > built);
}

if (process.env.SKIP_BUILD !== '1' && buildIsStale()) {
	console.error('khs-sync: building the SvelteKit app (build/ is missing or stale)…');
	const vite = join(root, 'node_modules', '.bin', 'vite');
	const result = spawnSync(vite, ['build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
	if (result.status !== 0) {
		console.error('khs-sync: build failed');
		process.exit(result.status ?? 1);
	}
}

const { register } = await import('tsx/esm/api');
register();
await import('../server/main.ts');
