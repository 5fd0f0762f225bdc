import { expect } from 'vitest';
import type { ServerProcess } from '../../integration/support/server-process.ts';
import type { OutageResult } from './outage.ts';

/**
 * The assertions every outage scenario makes, with the lists that failed them shown. When the crew
 * did not settle, the servers' last warnings and errors are printed first: what a fault left stuck
 * is in them, and the processes are gone once the suite ends. A server that exited fails first.
 */
export function expectSurvived(
	result: OutageResult,
	crewErrors: unknown[],
	servers: ServerProcess[] = []
): void {
	for (const server of servers) {
		// A server that died under the fault explains everything after it: say so first, with its stderr.
		const exit = server.proc.exitCode ?? server.proc.signalCode;
		expect(exit, `server pid ${server.pid} exited: ${server.stderr.join('').slice(-2_000)}`).toBeNull();
	}
	if (result.settleError) {
		for (const server of servers) {
			const recent = server.logs.filter((l) => Number(l.level) >= 40).slice(-30);
			console.log(
				`server pid ${server.pid}: last warnings and errors\n${recent.map((l) => JSON.stringify(l)).join('\n')}`
			);
		}
	}
	expect(result.settleError, 'everything durable after the fault ended').toBeUndefined();
	expect(result.ackedMissingAtEnd, 'acknowledged but not in the database').toEqual([]);
	expect(result.falseAcks, 'acked while the database was away').toEqual([]);
	expect(result.falsePushes, '2xx pushes while the database was away').toEqual([]);
	expect(result.notRelayed, 'edits that stopped applying during the fault').toEqual([]);
	expect(result.sawDatabaseDown, '/healthz reported the database down').toBe(true);
	expect(result.untypedServerErrors, 'REST 5xx answers other than 503').toBe(0);
	expect(result.unconverged, 'devices converged to the stored state').toEqual([]);
	expect(crewErrors).toEqual([]);
	expect(result.row.editsAcknowledged).toBe(result.row.editsPresent);
	expect(result.row.pushesOk).toBe(result.row.pushesPresentOnce);
	expect(result.healthAfter, 'servers serve again').toBe(200);
}
