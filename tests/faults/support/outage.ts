import { setTimeout as delay } from 'node:timers/promises';
import type { Db } from '../../../server/db/port.ts';
import type { Crew, Endpoint } from './crew.ts';
import type { DeviceEdit } from './devices.ts';
import { pace, recoverTimeoutMs } from './params.ts';
import { type FaultRow, recordFault } from './record.ts';
import { healthUntil, randomMoment } from './servers.ts';

export interface OutageScenario {
	scenario: string;
	parameters: string;
	seed: number;
	random: () => number;
	crew: Crew;
	/** The database the crew's servers write to, read by the suite directly. */
	db: () => Db;
	/** Servers whose `/healthz` must say the database is down during the outage (empty: none must). */
	healthOf: Endpoint[];
	/** Servers that must serve again afterwards. */
	servers: Endpoint[];
	durationMs: number;
	/** Whether the servers lose their database (no durability may be claimed meanwhile). */
	databaseLost: boolean;
	/** Only peers on the same instance must keep receiving edits (Redis, which relays between them, is away). */
	relayOnlyWithin?: boolean;
	begin(): Promise<void>;
	end(): Promise<void>;
}

export interface OutageResult {
	row: FaultRow;
	/** Edits made after the fault began that were acknowledged durable before it ended. */
	falseAcks: DeviceEdit[];
	/** REST pushes sent after the fault began that had a 2xx before it ended. */
	falsePushes: string[];
	/** Edits made during the fault that a device on the same document never received. */
	notRelayed: DeviceEdit[];
	ackedMissingAtEnd: DeviceEdit[];
	/** REST answers with a 5xx other than 503: a fault the server did not tell apart (503 says "retry"). */
	untypedServerErrors: number;
	sawDatabaseDown: boolean;
	settleError: unknown;
	unconverged: string[];
	healthAfter: number;
}

/**
 * The shape every outage scenario shares: all durable first, load on, the fault at a random
 * moment for `durationMs`, then the checks. While the database is lost, edits must keep applying
 * (devices on one document keep receiving each other's edits through the server), and the server
 * must not claim durability: no ack covering an edit made during the outage, no 2xx push, and
 * `/healthz` says `db: down`. After it ends, everything must become durable (time to recover).
 */
export async function runOutage(s: OutageScenario): Promise<OutageResult> {
	await s.crew.synced();
	await s.crew.settle();
	const load = s.crew.startLoad(pace);
	await randomMoment(s.random, 200, 800);
	await s.begin();
	const downAt = performance.now();
	let sawDatabaseDown = s.healthOf.length === 0;
	if (s.healthOf.length > 0) {
		const answers = await Promise.all(
			s.healthOf.map((e) =>
				healthUntil(e.http, (h) => h.status === 503 && h.body?.db === 'down', s.durationMs)
			)
		);
		sawDatabaseDown = answers.every((h) => h.status === 503 && h.body?.db === 'down');
	}
	// The outage lasts its set duration: that is the fault, not a wait for a condition.
	const left = downAt + s.durationMs - performance.now();
	if (left > 0) await delay(left);
	const endingAt = performance.now();

	const falseAcks = s.databaseLost
		? s.crew.devices.flatMap((d) => d.durableEdits().filter((e) => e.atMs > downAt))
		: [];
	const falsePushes = s.databaseLost
		? s.crew.pushers.flatMap((p) =>
				p.ops
					.filter((op) => op.sentAtMs > downAt && op.okAtMs !== undefined && op.okAtMs < endingAt)
					.map((op) => op.opId)
			)
		: [];
	// Relayed while the database was away: what a peer on the same document holds. Edits of the last
	// second may still be on the wire.
	const notRelayed: DeviceEdit[] = [];
	for (const device of s.crew.devices) {
		const peers = s.crew.devices.filter(
			(d) => d !== device && d.docName === device.docName && (!s.relayOnlyWithin || d.url === device.url)
		);
		for (const edit of device.edits) {
			if (edit.atMs <= downAt || edit.atMs > endingAt - 1_000 || edit.kind !== 'add') continue;
			if (peers.some((p) => !p.list.get(edit.materialId))) notRelayed.push(edit);
		}
	}

	await s.end();
	const upAt = performance.now();
	const ackedMissingAtEnd = await s.crew.ackedButMissing(s.db());
	await load.stop();
	let settleError: unknown;
	try {
		await s.crew.settle(recoverTimeoutMs);
	} catch (error) {
		settleError = error;
	}
	const recoverMs = settleError ? Number.NaN : performance.now() - upAt;
	const healthAfter = await Promise.all(s.servers.map((e) => healthUntil(e.http, (h) => h.status === 200)));
	const tally = await s.crew.tally(s.db());
	const answers = new Map<number, number>();
	for (const pusher of s.crew.pushers) {
		for (const [status, n] of pusher.statuses) answers.set(status, (answers.get(status) ?? 0) + n);
	}
	const untypedServerErrors = [...answers].reduce(
		(n, [status, count]) => (status >= 500 && status !== 503 ? n + count : n),
		0
	);
	const unconverged = await s.crew.unconverged(s.db(), settleError ? 1_000 : 30_000);
	const row = recordFault({
		scenario: s.scenario,
		parameters: s.parameters,
		seed: s.seed,
		...tally,
		recoverMs,
		converged: unconverged.length === 0,
		ok:
			!settleError &&
			sawDatabaseDown &&
			falseAcks.length === 0 &&
			falsePushes.length === 0 &&
			notRelayed.length === 0 &&
			ackedMissingAtEnd.length === 0 &&
			untypedServerErrors === 0 &&
			s.crew.errors.length === 0 &&
			healthAfter.every((h) => h.status === 200),
		notes: [
			s.healthOf.length > 0 ? `/healthz said db down: ${sawDatabaseDown}` : '',
			s.databaseLost ? `${falseAcks.length} acks and ${falsePushes.length} 2xx pushes during the outage` : '',
			`${notRelayed.length} edits not relayed meanwhile`,
			`REST answers ${[...answers]
				.sort((a, b) => a[0] - b[0])
				.map(([status, n]) => `${status || 'none'}×${n}`)
				.join(' ')}`,
			settleError ? `NOT RECOVERED: ${(settleError as Error).message}` : ''
		]
			.filter(Boolean)
			.join('; ')
	});
	return {
		row,
		falseAcks,
		falsePushes,
		notRelayed,
		ackedMissingAtEnd,
		untypedServerErrors,
		sawDatabaseDown,
		settleError,
		unconverged,
		healthAfter: Math.max(...healthAfter.map((h) => h.status))
	};
}
