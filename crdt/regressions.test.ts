import { describe, expect, it } from 'vitest';
import { checkScenario, type ReplicaSpec, type Scenario } from './model.test-support.ts';

/**
 * Counterexamples the convergence properties found (convergence.test.ts), kept as named tests so
 * they are replayed on every run whatever the property's seed. Each cites the seed that found it;
 * the scenario is the shrunk counterexample, hand-trimmed to the steps that matter. Inbox picks
 * count the two set-up updates (job and customer created by replica 0) every inbox starts with.
 */
const check = (actual: unknown, wanted: unknown) => expect(actual).toEqual(wanted);

const owner: ReplicaSpec = { role: 'OWNER', skew: 0, sameUserAsPrevious: false };
const worker: ReplicaSpec = { role: 'WORKER', skew: 0, sameUserAsPrevious: false };

/** Both clientID orders: Yjs breaks same-key ties by clientID, and no outcome may depend on it. */
const bothClientOrders = (scenario: Omit<Scenario, 'clientIds'>): Scenario[] => [
	{ ...scenario, clientIds: [1001, 2002] },
	{ ...scenario, clientIds: [2002, 1001] }
];

describe('convergence regressions', () => {
	// CONV-2, seed 545371537 (path 309:2:5:…): two replicas delete the same note concurrently. Both
	// delete marks were written under one Y.Map key, so Yjs kept the mark of the larger clientID
	// and dropped the other: `updatedAt` (MAT-7) then depended on which device had the larger id.
	it.each(
		bothClientOrders({
			replicas: [owner, worker],
			steps: [
				{ s: 'op', r: 0, tick: 0, op: { type: 'customerNote' } },
				{ s: 'deliver', r: 1, pick: 2, keep: false },
				{ s: 'op', r: 0, tick: 0, op: { type: 'customerNoteMark', note: 0, deleted: true } },
				{ s: 'op', r: 1, tick: 3_600_000, op: { type: 'customerNoteMark', note: 0, deleted: true } }
			]
		})
	)(
		'CONV-2 NOTE-2 concurrent deletes of one note both count, whatever the clientIDs ($clientIds)',
		(scenario) => {
			checkScenario(scenario, check);
		}
	);

	// CONV-2, found while reducing the case above: a delete concurrent with a restore of an
	// earlier delete. With one shared mark key, the restore's target sat to the right of the new
	// mark when its device had the larger clientID, Yjs deleted the new mark as the loser of the
	// key, and the note came back although the second delete was never seen by anyone.
	it.each(
		bothClientOrders({
			replicas: [owner, worker],
			steps: [
				{ s: 'op', r: 0, tick: 0, op: { type: 'jobNote' } },
				{ s: 'deliver', r: 1, pick: 2, keep: false },
				{ s: 'op', r: 0, tick: 10, op: { type: 'jobNoteMark', note: 0, deleted: true } },
				{ s: 'op', r: 0, tick: 10, op: { type: 'jobNoteMark', note: 0, deleted: false } },
				{ s: 'op', r: 1, tick: 10, op: { type: 'jobNoteMark', note: 0, deleted: true } }
			]
		})
	)(
		'CONV-2 NOTE-2 a delete concurrent with a restore stays deleted, whatever the clientIDs ($clientIds)',
		(scenario) => {
			checkScenario(scenario, check);
		}
	);
});
