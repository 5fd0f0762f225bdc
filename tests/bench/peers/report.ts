// The one table of `npm run bench:peers`: a row per metric, a column per server, then KHS ÷ each
// peer (above 1: KHS is slower / bigger / costlier on that row).
import { type PeerId, peerLabels } from './servers.ts';

export type Cell = number | string;

function show(value: Cell | undefined): string {
	if (value === undefined) return '—';
	if (typeof value === 'string') return value;
	if (!Number.isFinite(value)) return 'n/a';
	const abs = Math.abs(value);
	const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
	return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function printTable(metrics: string[], cells: Map<string, Map<PeerId, Cell>>, ids: PeerId[]): void {
	const others = ids.filter((id) => id !== 'khs');
	const header = [
		'metric',
		...ids.map((id) => peerLabels[id]),
		...others.map((id) => `KHS/${peerLabels[id]}`)
	];
	const rows = metrics.map((m) => {
		const row = cells.get(m) ?? new Map<PeerId, Cell>();
		const khs = row.get('khs');
		const ratios = others.map((id) => {
			const peer = row.get(id);
			if (typeof khs !== 'number' || typeof peer !== 'number' || peer === 0) return '';
			return `${(khs / peer).toFixed(2)}×`;
		});
		return [m, ...ids.map((id) => show(row.get(id))), ...ratios];
	});
	const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
	const line = (cells: string[]) =>
		`| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
	console.log(line(header));
	console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
	for (const row of rows) console.log(line(row));
	console.log(
		'(p99 of one window is a handful of samples on a shared 2-core machine: read it as noise-dominated. CPU per delivered update counts the server process and its Postgres backends over the scenario span ÷ deliveries in its own windows; "cores" is the server process alone in its own windows.)'
	);
}
