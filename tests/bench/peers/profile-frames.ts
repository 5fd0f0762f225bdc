// How the profile readers (profile-top.ts, heap-top.ts) name a V8 call frame and the code it lives
// in. Our server runs from an esbuild bundle (scripts/start.mjs), so its frames point into
// node_modules/.cache/khs-server/…/main.mjs; where the bundle's linked source map is still there,
// a frame is named by its source file instead (crdt/…, server/…, node_modules/yjs/…).
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A V8 profile's call frame (CPU and sampling heap profiles share it). */
export interface CallFrame {
	readonly functionName: string;
	readonly url: string;
	/** 0-based, as V8 reports it. */
	readonly lineNumber: number;
	readonly columnNumber?: number;
}

const maps = new Map<string, SourceMap | null>();

function sourceMapOf(path: string): SourceMap | null {
	let map = maps.get(path);
	if (map === undefined) {
		const file = `${path}.map`;
		map = existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8'))) : null;
		maps.set(path, map);
	}
	return map;
}

/** The frame's file (relative to the working directory) and 1-based line, through a source map when there is one. */
function sourceOf(frame: CallFrame): { path: string; line: number } | undefined {
	if (!frame.url) return undefined;
	if (frame.url.startsWith('node:')) return { path: frame.url, line: frame.lineNumber + 1 };
	const path = frame.url.startsWith('file://') ? fileURLToPath(frame.url) : frame.url;
	const entry = sourceMapOf(path)?.findEntry(frame.lineNumber, frame.columnNumber ?? 0);
	if (entry && 'originalSource' in entry && entry.originalSource) {
		const source = entry.originalSource.startsWith('file://')
			? fileURLToPath(entry.originalSource)
			: resolve(dirname(path), entry.originalSource);
		return { path: relative(process.cwd(), source), line: entry.originalLine + 1 };
	}
	return { path: relative(process.cwd(), path), line: frame.lineNumber + 1 };
}

/** `function file:line`, e.g. `checkUpdate server/collab/update-check.ts:98`. */
export function frameName(frame: CallFrame): string {
	const source = sourceOf(frame);
	return `${frame.functionName || '(anonymous)'} ${source ? `${source.path}:${source.line}` : ''}`.trim();
}

/** Where the frame's code lives: one of our folders, a package, Node's internals, or V8's own "(…)". */
export function moduleOf(frame: CallFrame): string {
	const source = sourceOf(frame);
	if (!source) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
	const { path } = source;
	if (path.startsWith('node:')) return 'node: internals';
	const parts = path.split('/');
	const at = parts.lastIndexOf('node_modules');
	if (at >= 0) return parts.slice(at, at + (parts[at + 1]?.startsWith('@') ? 3 : 2)).join('/');
	return parts.slice(0, 2).join('/');
}
