// `npx tsx tests/bench/peers/heap-top.ts <file.heapprofile> [N] [--inclusive] [--per <count>]`: the top
// N allocation sites of a V8 sampling heap profile (bench:peers with BENCH_HEAP_PROFILE, which counts
// collected objects too), by bytes allocated in the function itself, with the shares by module —
// the allocation figures README's "Against peers" quotes. V8 scales each sample to the bytes it
// stands for, so the totals estimate all bytes allocated while sampling.
//   --inclusive      rank by bytes allocated in the function and everything it called
//   --per <count>    also print bytes per unit of work (e.g. the deliveries of the sampled windows)
//   --under <regex>  only what was allocated below a frame matching <regex> (`function file:line`)
import { readFileSync } from 'node:fs';
import { type CallFrame, frameName, moduleOf } from './profile-frames.ts';

interface HeapNode {
	callFrame: CallFrame;
	selfSize: number;
	children: HeapNode[];
}

const args = process.argv.slice(2);
const flag = (name: string) => {
	const at = args.indexOf(name);
	if (at >= 0) args.splice(at, 1);
	return at >= 0;
};
const option = (name: string) => {
	const at = args.indexOf(name);
	return at < 0 ? undefined : (args.splice(at, 2)[1] ?? '');
};
const inclusive = flag('--inclusive');
const per = Number(option('--per') ?? 0);
const under = option('--under');
const underPattern = under === undefined ? undefined : new RegExp(under);
const [file, top = '25'] = args;
if (!file)
	throw new Error('usage: heap-top.ts <file.heapprofile> [N] [--inclusive] [--per <count>] [--under re]');

const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };
const byFunction = new Map<string, number>();
const byModule = new Map<string, number>();
let total = 0;
const add = (into: Map<string, number>, key: string, bytes: number) =>
	into.set(key, (into.get(key) ?? 0) + bytes);

/**
 * Walks the tree; returns the bytes counted at and below `node`. Inclusive counts a frame once per
 * path (recursion). Below `--under`, only the subtrees of its matching frames count.
 */
function walk(node: HeapNode, onPath: ReadonlySet<string>, counted: boolean): number {
	const name = frameName(node.callFrame);
	const counts = counted || (underPattern?.test(name) ?? true);
	const self = counts ? node.selfSize : 0;
	total += self;
	add(byModule, moduleOf(node.callFrame), self);
	if (!inclusive) add(byFunction, name, self);
	const path = inclusive && !onPath.has(name) ? new Set([...onPath, name]) : onPath;
	let below = self;
	for (const child of node.children) below += walk(child, path, counts);
	if (inclusive && !onPath.has(name) && node !== head) add(byFunction, name, below);
	return below;
}
walk(head, new Set(), false);

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
console.log(
	`${file}: ${mb(total)} MB allocated while sampling${under ? ` below /${under}/` : ''}${per > 0 ? `, ${Math.round(total / per)} B per unit (${per})` : ''}`
);
console.log('allocated by module: % of all');
for (const [where, bytes] of [...byModule].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
	console.log(`${((bytes / total) * 100).toFixed(1).padStart(6)} %  ${where}`);
}
console.log(`${inclusive ? 'inclusive' : 'self'} % of all · MB${per > 0 ? ' · B per unit' : ''} · function`);
for (const [name, bytes] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
	const unit = per > 0 ? ` ${String(Math.round(bytes / per)).padStart(6)}` : '';
	console.log(
		`${((bytes / total) * 100).toFixed(1).padStart(6)} %  ${mb(bytes).padStart(6)}${unit}  ${name}`
	);
}
