import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleServer } from './assemble.ts';
import { silentLogger } from './logger.ts';
import { openMigratedTestDb, serveTestApp, type TestServer, testAuthSecret } from './testing/app.ts';

const metricsToken = 'ops-test-metrics-token';
const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

/** Every `khs_…` metric a file names, histogram series reduced to their metric. */
function metricNames(text: string): string[] {
	const names = new Set<string>();
	for (const [name] of text.matchAll(/\bkhs_[a-z0-9_]+/g))
		names.add(name.replace(/_(bucket|sum|count)$/, ''));
	return [...names].sort();
}

describe('ops: alert rules and dashboard name only metrics the server exports', () => {
	let server: TestServer;
	let exported: Set<string>;
	beforeAll(async () => {
		const { db, drop } = await openMigratedTestDb('pglite');
		const assembled = await assembleServer({
			db,
			logger: silentLogger(),
			authSecret: testAuthSecret,
			metricsToken
		});
		server = await serveTestApp(assembled.app, db, async () => {
			await assembled.close();
			await drop();
		});
		const res = await fetch(`${server.http}/metrics`, {
			headers: { authorization: `Bearer ${metricsToken}` }
		});
		expect(res.status).toBe(200);
		exported = new Set([...(await res.text()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string));
	});
	afterAll(() => server?.close());

	it('ops/prometheus/alerts.yml has the spec alerts, each on an exported metric', () => {
		const rules = read('../ops/prometheus/alerts.yml');
		for (const alert of [
			'KhsSlowSyncs',
			'KhsHighConflictCounts',
			'KhsDurabilityLag',
			'KhsProjectionLag',
			'KhsFailedAppends'
		])
			expect(rules).toContain(`alert: ${alert}`);
		const names = metricNames(rules);
		expect(names.length).toBeGreaterThan(5);
		expect(names.filter((n) => !exported.has(n))).toEqual([]);
	});

	it('ops/grafana/dashboard.json is valid JSON whose every query names exported metrics', () => {
		const dashboard = JSON.parse(read('../ops/grafana/dashboard.json')) as {
			panels: Array<{ targets: Array<{ expr: string }> }>;
		};
		const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
		expect(exprs.length).toBeGreaterThan(5);
		for (const expr of exprs) expect(metricNames(expr).length).toBeGreaterThan(0);
		expect(metricNames(exprs.join('\n')).filter((n) => !exported.has(n))).toEqual([]);
	});
});
