// `npx tsx tests/bench/peers/profile-top.ts <file.cpuprofile> [N] [options]`: the top N functions of
// a V8 CPU profile (node --cpu-prof) by self time, with their share of all samples, and the shares of
// idle, GC and native "(program)" time — the figures README's "Against peers" quotes.
//
// A profile of a whole bench run mixes start-up, connecting and every scenario; the options narrow it:
//   --timeline            busy % per second since the profile's start (where the measured windows are)
//   --window 14-18,27-31  only samples in these spans (seconds since the profile's start)
//   --inclusive           rank by inclusive time (the function and everything it called)
//   --under <regex>       only samples below a frame matching <regex>, ranked by the self time there
import { readFileSync } from 'node:fs';
import { type CallFrame, frameName, moduleOf } from './profile-frames.ts';

interface ProfileNode {
	id: number;
	callFrame: CallFrame;
	children?: number[];
}
interface Profile {
	nodes: ProfileNode[];
	samples: number[];
	timeDeltas: number[];
}

const args = process.argv.slice(2);
const option = (name: string) => {
	const at = args.indexOf(name);
	return at < 0 ? undefined : (args.splice(at, 2)[1] ?? '');
};
const flag = (name: string) => {
	const at = args.indexOf(name);
	if (at >= 0) args.splice(at, 1);
	return at >= 0;
};
const timeline = flag('--timeline');
const inclusive = flag('--inclusive');
const under = option('--under');
const spans = option('--window')
	?.split(',')
	.map((span) => span.split('-').map(Number) as [number, number]);
const [file, top = '25'] = args;
if (!file)
	throw new Error(
		'usage: profile-top.ts <file.cpuprofile> [N] [--timeline] [--window a-b,…] [--inclusive] [--under re]'
	);

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

function sumOf(values: Map<unknown, number>): number {
	return [...values.values()].reduce((a, b) => a + b, 0);
}

function nameOf(node: ProfileNode): string {
	return frameName(node.callFrame);
}

/** The sample's frames, innermost first. */
function stackOf(id: number): ProfileNode[] {
	const stack: ProfileNode[] = [];
	for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at))
		stack.push(byId.get(at) as ProfileNode);
	return stack;
}

const underPattern = under === undefined ? undefined : new RegExp(under);
const selfUs = new Map<number, number>();
const busyBySecond = new Map<number, number>();
/** Sampled time in the window(s), and the busy part of it: the bases of the two shares printed. */
let total = 0;
let busy = 0;
let atUs = 0;
for (const [i, id] of profile.samples.entries()) {
	const us = profile.timeDeltas[i] ?? 0;
	atUs += us;
	const second = atUs / 1e6;
	const idle = (byId.get(id) as ProfileNode).callFrame.functionName === '(idle)';
	if (!idle) busyBySecond.set(Math.floor(second), (busyBySecond.get(Math.floor(second)) ?? 0) + us);
	if (spans && !spans.some(([from, to]) => second >= from && second < to)) continue;
	total += us;
	if (!idle) busy += us;
	if (underPattern && !stackOf(id).some((node) => underPattern.test(nameOf(node)))) continue;
	selfUs.set(id, (selfUs.get(id) ?? 0) + us);
}
if (timeline) {
	console.log(
		'second:busy % —',
		[...busyBySecond].map(([s, us]) => `${s}:${Math.round(us / 1e4)}`).join(' ')
	);
}

const byFunction = new Map<string, number>();
for (const [id, us] of selfUs) {
	// Inclusive: each frame once per sample (recursion), the root (everything) left out.
	const frames = inclusive
		? new Set(stackOf(id).slice(0, -1).map(nameOf))
		: [nameOf(byId.get(id) as ProfileNode)];
	for (const key of frames) byFunction.set(key, (byFunction.get(key) ?? 0) + us);
}
const rows = [...byFunction].sort((a, b) => b[1] - a[1]);
/** Self time by where the code lives: our folders, each package, Node's internals, native. */
const byModule = new Map<string, number>();
for (const [id, us] of selfUs) {
	const where = moduleOf((byId.get(id) as ProfileNode).callFrame);
	byModule.set(where, (byModule.get(where) ?? 0) + us);
}
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${((busy / total) * 100).toFixed(1)} % busy`);
if (underPattern) console.log(`below /${under}/: ${((sumOf(selfUs) / busy) * 100).toFixed(1)} % of busy`);
console.log('self time by module: % of busy');
for (const [where, us] of [...byModule].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
	if (where !== '(idle)') console.log(`${((us / busy) * 100).toFixed(1).padStart(6)} %  ${where}`);
}
console.log(`${inclusive ? 'inclusive' : 'self'} % of all · % of busy · function`);
for (const [key, us] of rows.slice(0, Number(top))) {
	console.log(
		`${((us / total) * 100).toFixed(1).padStart(6)} %  ${key === '(idle)' ? '     ' : `${((us / busy) * 100).toFixed(1).padStart(5)}`} %  ${key}`
	);
}
