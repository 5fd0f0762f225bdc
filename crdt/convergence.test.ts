import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
	expected,
	observed,
	propertySeed,
	runScenario,
	scenarioArb,
	snapshot,
	userIdsOf
} from './model.test-support.ts';
import { causalityViolations } from './reference-model.ts';

/**
 * Property-based convergence (SPEC CONV-1, CONV-2). The simulation and the lossy network
 * live in model.test-support.ts, the independent reference model in reference-model.ts. A failure
 * prints the seed and the shrunk scenario; replay with FC_SEED=<seed>, and keep the scenario as a
 * named test in regressions.test.ts.
 */
const NUM_RUNS = Number(process.env.FC_RUNS ?? 400);

describe('convergence (property-based)', () => {
	it('CONV-1 replicas that exchanged updates in any order, with duplicates, drops and partitions read identical JSON', () => {
		const seed = propertySeed('CONV-1');
		fc.assert(
			fc.property(scenarioArb, (scenario) => {
				const outcome = runScenario(scenario);
				const users = userIdsOf(outcome);
				const [first, ...rest] = outcome.sims.map((sim) => snapshot(sim, users));
				for (const other of rest) expect(other).toEqual(first);
			}),
			{ seed, numRuns: NUM_RUNS }
		);
	});

	it('CONV-2 every field equals what the reference model computes from the operation history (and HLC-2, DUR-1 hold)', () => {
		const seed = propertySeed('CONV-2');
		fc.assert(
			fc.property(scenarioArb, (scenario) => {
				const outcome = runScenario(scenario);
				const users = userIdsOf(outcome);
				const sim = outcome.sims[0];
				if (!sim) throw new Error('no replica');
				expect(observed(sim, users)).toEqual(expected(outcome.history, users));
				expect(causalityViolations(outcome.history)).toEqual([]);
				expect(outcome.silentDeletes).toEqual([]);
			}),
			{ seed, numRuns: NUM_RUNS }
		);
	});
});
