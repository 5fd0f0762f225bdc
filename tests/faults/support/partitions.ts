import type { ProxyMode } from './tcp-proxy.ts';

/**
 * The ways a network between a server and Postgres or Redis fails, each made by the suite's TCP
 * proxy (tcp-proxy.ts) and healed after the scenario's partition time. One list, so every
 * partition scenario runs all of them.
 */
export interface PartitionKind {
	/** Short name for the scenario's title and the fault record. */
	label: string;
	mode: ProxyMode;
	/** What the proxy does, for the record's parameters column. */
	parameters: string;
	/** Whether the far side is cut off (no answer gets back), rather than only slow. */
	cutsOff: boolean;
}

export const partitionKinds: readonly PartitionKind[] = [
	{
		label: 'drop',
		mode: { kind: 'drop' },
		parameters: 'TCP proxy drops every byte both ways',
		cutsOff: true
	},
	{
		label: 'half-open',
		mode: { kind: 'half-open', direction: 'to-client' },
		// The nastier half: requests (and commits) reach the far side, but their answers never return.
		parameters: 'TCP proxy forwards requests but drops every answer (half-open)',
		cutsOff: true
	},
	{
		label: 'delay',
		mode: { kind: 'delay', delayMs: 300 },
		parameters: 'TCP proxy delays every chunk by 300 ms',
		cutsOff: false
	}
];
