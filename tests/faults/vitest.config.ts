import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `npm run faults`: every fault scenario in its LONG form (20 kill rounds, 30 s outages, 10 s
// partitions, the full week offline), one file at a time so scenarios do not disturb each other's
// timings; report.ts writes docs/faults.md from the rows the scenarios record. The short forms of
// the same files run in `npm test` under the main config.
process.env.FAULTS_LONG = '1';
process.env.FAULTS_RESULTS_FILE ??= join(tmpdir(), `khs-faults-${process.pid}.jsonl`);

export default defineConfig({
	// The project root, so paths below and tsconfig resolve as under the main config.
	root: join(dirname(fileURLToPath(import.meta.url)), '..', '..'),
	test: {
		include: ['tests/faults/**/*.test.ts'],
		globalSetup: ['tests/faults/report.ts'],
		fileParallelism: false,
		testTimeout: 900_000,
		hookTimeout: 120_000,
		env: { FAULTS_LONG: '1', FAULTS_RESULTS_FILE: process.env.FAULTS_RESULTS_FILE }
	}
});
