import { appendFileSync } from 'node:fs';
import type { CrewTally } from './crew.ts';
import { mode } from './params.ts';

/** One row of the fault record (docs/faults.md). */
export interface FaultRow extends CrewTally {
	scenario: string;
	parameters: string;
	seed: number;
	mode: string;
	/** From the end of the fault (restart, database back, partition healed) to everything durable again. */
	recoverMs: number;
	converged: boolean;
	/** Every check of the scenario held. */
	ok: boolean;
	notes: string;
}

/** Where `npm run faults` collects rows (set by tests/faults/vitest.config.ts); unset in `npm test`. */
export const resultsFileVariable = 'FAULTS_RESULTS_FILE';

export function recordFault(row: Omit<FaultRow, 'mode' | 'ok'> & { ok?: boolean }): FaultRow {
	const full: FaultRow = {
		...row,
		mode,
		ok:
			(row.ok ?? true) &&
			row.converged &&
			row.editsAcknowledged === row.editsPresent &&
			row.pushesOk === row.pushesPresentOnce
	};
	console.log(
		`fault ${full.scenario} [${full.mode}] seed=${full.seed} (replay with TEST_SEED=${full.seed}): ` +
			`${full.editsMade} edits made, ${full.editsAcknowledged} acknowledged, ${full.editsPresent} present; ` +
			`${full.pushesOk} 2xx pushes, ${full.pushesPresentOnce} present once; converged=${full.converged}; ` +
			`recovered in ${Math.round(full.recoverMs)} ms; ${full.notes}`
	);
	const file = process.env[resultsFileVariable];
	if (file) appendFileSync(file, `${JSON.stringify(full)}\n`);
	return full;
}
