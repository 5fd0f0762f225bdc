// `npm start`: build the SvelteKit app when build/ is missing or older than its sources, bundle the
// server into plain JavaScript when the bundle is older than its sources, then run the bundle in THIS
// process, so signals and `kill -9` reach the server itself rather than a wrapper.
//
// Why a bundle and not tsx registered in-process: RSS after start and two full GCs (pg, the
// bench:peers memory probe; 2026-12-02) was 164–187 MB under tsx and is 109–110 MB from the bundle.
// tsx transforms every file at start on its loader thread, and that churn grows V8's young
// generation to its maximum (128 MB reserved, 64 MB resident) which it keeps afterwards. Node's own
// type stripping is no way out either: it loads swc as WebAssembly (+28 MB) and cannot strip the
// parameter properties the server uses.
import { spawnSync } from 'node:child_process';
import {
	existsSync,
	mkdirSync,
	readdirSync,
	readFileSync,
	renameSync,
	rmSync,
	statSync,
	writeFileSync
} from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createRequire, registerHooks } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// No growth of V8's young generation while the server starts: loading and migrating grew it to 32 MB
// (14 MB resident) for good — RSS after start 115 MB, 100–102 MB without it (bench:peers memory
// probe, 2026-12-02). The growth factor is the one young-generation setting V8 still reads after
// start-up (a semi-space cap is a command-line flag only). The server allows growth, up to a cap,
// once it listens (server/young-generation.ts).
setFlagsFromString('--semi-space-growth-factor=1');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const builtFile = join(root, 'build', 'handler.js');
// Everything the client bundle is built from (crdt/ is imported through the $crdt alias).
const sources = ['src', 'crdt', 'static', 'svelte.config.js', 'vite.config.ts', 'package.json'];

/** Defaults of the server bundle. */
const bundleDefaults = {
	/** Inside the repository so the bundle's package imports resolve from its node_modules. */
	dir: join(root, 'node_modules', '.cache', 'khs-server'),
	/** Bumped when the build options change, so an older bundle is not taken for current. */
	format: 1,
	/** Older bundles are removed after this long (a process started from one may still be starting). */
	keepOldMs: 60 * 60 * 1000
};
const manifestFile = join(bundleDefaults.dir, 'current.json');

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

/**
 * esbuild with its synchronous calls run by the esbuild binary directly: left to itself it starts a
 * worker thread for them (a second V8 isolate in the server process for good).
 */
function loadEsbuild() {
	const before = process.env.ESBUILD_WORKER_THREADS;
	process.env.ESBUILD_WORKER_THREADS = '0';
	try {
		return createRequire(import.meta.url)('esbuild');
	} finally {
		if (before === undefined) delete process.env.ESBUILD_WORKER_THREADS;
		else process.env.ESBUILD_WORKER_THREADS = before;
	}
}

/** The manifest of the current bundle when every file it was built from is unchanged, else null. */
function currentBundle() {
	let manifest;
	try {
		manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
	} catch {
		return null;
	}
	// The bundle holds absolute file URLs (see keepModuleUrls): a moved checkout rebuilds.
	if (manifest?.format !== bundleDefaults.format || manifest.root !== root) return null;
	for (const [file, [mtimeMs, size]] of Object.entries(manifest.inputs)) {
		try {
			const s = statSync(join(root, file));
			if (s.mtimeMs !== mtimeMs || s.size !== size) return null;
		} catch {
			return null;
		}
	}
	const entry = join(bundleDefaults.dir, manifest.dir, 'main.mjs');
	return existsSync(entry) ? entry : null;
}

/**
 * Bundles server/main.ts and everything it imports from the repository (packages stay imports).
 * Each build gets its own folder and the manifest names the current one (written by rename), so
 * servers starting at the same time never read a half-written bundle.
 */
async function buildBundle() {
	const esbuild = loadEsbuild();
	const dir = `build-${Date.now()}-${process.pid}`;
	const outdir = join(bundleDefaults.dir, dir);
	const inputs = {};
	const record = (path, s) => {
		inputs[relative(root, path)] = [s.mtimeMs, s.size];
	};
	const keepModuleUrls = {
		name: 'keep-module-urls',
		setup(build) {
			// `import.meta.url` stays the source file's URL: server code finds migrations/ and build/
			// relative to itself (db/migrate.ts, pages.ts). Stat before read: an edit during the
			// build leaves an older mtime in the manifest, so the next start rebuilds.
			build.onLoad({ filter: /\.ts$/ }, async (args) => {
				record(args.path, await stat(args.path));
				const source = await readFile(args.path, 'utf8');
				const url = JSON.stringify(pathToFileURL(args.path).href);
				return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
			});
		}
	};
	const result = await esbuild.build({
		absWorkingDir: root,
		entryPoints: [join(root, 'server', 'main.ts')],
		outdir,
		outExtension: { '.js': '.mjs' },
		bundle: true,
		// Chunks keep `await import()` lazy: a pg server never loads the PGlite adapter (db/open.ts).
		splitting: true,
		format: 'esm',
		platform: 'node',
		target: 'node22',
		packages: 'external',
		// What tsx compiled the server with (tsconfig.json): every import not marked `type` is kept.
		tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true } },
		sourcemap: 'linked',
		metafile: true,
		logLevel: 'error',
		plugins: [keepModuleUrls]
	});
	for (const file of Object.keys(result.metafile.inputs)) {
		const path = join(root, file);
		if (!(relative(root, path) in inputs)) record(path, statSync(path));
	}
	record(fileURLToPath(import.meta.url), statSync(fileURLToPath(import.meta.url)));
	const tmp = `${manifestFile}.${process.pid}`;
	writeFileSync(tmp, JSON.stringify({ format: bundleDefaults.format, root, dir, inputs }));
	renameSync(tmp, manifestFile);
	for (const old of readdirSync(bundleDefaults.dir)) {
		if (!old.startsWith('build-') || old === dir) continue;
		const path = join(bundleDefaults.dir, old);
		if (Date.now() - statSync(path).mtimeMs > bundleDefaults.keepOldMs)
			rmSync(path, { recursive: true, force: true });
	}
	return join(outdir, 'main.mjs');
}

let entry = currentBundle();
if (!entry) {
	mkdirSync(bundleDefaults.dir, { recursive: true });
	try {
		entry = await buildBundle();
	} catch (error) {
		console.error('khs-sync: bundling the server failed', error);
		process.exit(1);
	}
}

// TypeScript the bundle imports at run time — data migrations (migrations/NNN_name.ts, imported by
// db/migrate.ts) — is transformed file by file here; esbuild is loaded only when one is imported.
let esbuild;
registerHooks({
	load(url, context, nextLoad) {
		if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
		esbuild ??= loadEsbuild();
		const path = fileURLToPath(url);
		const { code } = esbuild.transformSync(readFileSync(path, 'utf8'), {
			loader: 'ts',
			format: 'esm',
			target: 'node22',
			sourcefile: path,
			sourcemap: 'inline'
		});
		return { format: 'module', source: code, shortCircuit: true };
	}
});

// Stack traces in the logs name server/*.ts lines (measured: no RSS cost beyond noise, +0.5 MB heap).
process.setSourceMapsEnabled(true);
await import(pathToFileURL(entry).href);
