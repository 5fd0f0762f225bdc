// `npx tsx tests/bench/peers/profile-top.ts <file.cpuprofile> [N]`: the top N functions of a V8 CPU
// profile (node --cpu-prof) by self time, with their share of all samples, and the shares of idle,
// GC and native "(program)" time — the figures README's "Against peers" quotes.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number };
	children?: number[];
}
interface Profile {
	nodes: ProfileNode[];
	samples: number[];
	timeDeltas: number[];
}

const [file, top = '25'] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-top.ts <file.cpuprofile> [N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
for (const [i, id] of profile.samples.entries()) {
	selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const byFunction = new Map<string, number>();
for (const [id, us] of selfUs) {
	const { functionName, url, lineNumber } = (byId.get(id) as ProfileNode).callFrame;
	const where = url ? `${relative(process.cwd(), url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : '';
	const key = `${functionName || '(anonymous)'} ${where}`.trim();
	byFunction.set(key, (byFunction.get(key) ?? 0) + us);
}
const rows = [...byFunction].sort((a, b) => b[1] - a[1]);
/** Self time by where the code lives: our folders, each package, Node's internals, native. */
const byModule = new Map<string, number>();
for (const [id, us] of selfUs) {
	const { functionName, url } = (byId.get(id) as ProfileNode).callFrame;
	const path = relative(process.cwd(), url.replace(/^file:\/\//, ''));
	const where = !url
		? functionName.startsWith('(')
			? functionName
			: '(native)'
		: url.startsWith('node:')
			? 'node: internals'
			: path.startsWith('node_modules/')
				? path
						.split('/')
						.slice(0, path.split('/')[1]?.startsWith('@') ? 3 : 2)
						.join('/')
				: path.split('/').slice(0, 2).join('/');
	byModule.set(where, (byModule.get(where) ?? 0) + us);
}
const busy = total - (byFunction.get('(idle)') ?? 0);
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${((busy / total) * 100).toFixed(1)} % busy`);
console.log('self time by module: % of busy');
for (const [where, us] of [...byModule].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
	if (where !== '(idle)') console.log(`${((us / busy) * 100).toFixed(1).padStart(6)} %  ${where}`);
}
console.log('self % of all · % of busy · function');
for (const [key, us] of rows.slice(0, Number(top))) {
	console.log(
		`${((us / total) * 100).toFixed(1).padStart(6)} %  ${key === '(idle)' ? '     ' : `${((us / busy) * 100).toFixed(1).padStart(5)}`} %  ${key}`
	);
}
