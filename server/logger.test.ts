import { describe, expect, it } from 'vitest';
import { formatLogLine } from './logger.ts';

describe('log lines for a terminal', () => {
	it('turns a pino JSON line into time, level, subsystem, message and fields; stacks on the next lines', () => {
		const line = JSON.stringify({
			level: 50,
			time: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
			pid: 1,
			hostname: 'h',
			name: 'khs-sync',
			subsystem: 'sync',
			msg: 'pull failed',
			userId: 'u1',
			rows: 3,
			err: { message: 'boom', stack: 'Error: boom\n    at x' }
		});
		expect(formatLogLine(line, false)).toBe(
			'03:04:05.678 ERROR [sync] pull failed userId=u1 rows=3\nError: boom\n    at x\n'
		);
		expect(formatLogLine(line, true)).toContain('\x1b[31mERROR');
		expect(formatLogLine('not json', false)).toBe('not json');
	});
});
