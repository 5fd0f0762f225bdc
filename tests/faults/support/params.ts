/**
 * Short (CI, `npm test`) and long (`npm run faults`, FAULTS_LONG=1) sizes of every scenario, in one
 * place. Short keeps the whole set well under 3 minutes on a 2-core machine.
 */
export const long = process.env.FAULTS_LONG === '1';

export const faultParams = long
	? {
			killRounds: 20,
			outageMs: 30_000,
			partitionMs: 10_000,
			offlineAdds: 2_000,
			offlineChanges: 8_000,
			reconnectDevices: 50,
			skewMs: 24 * 60 * 60 * 1000
		}
	: {
			killRounds: 3,
			outageMs: 2_500,
			// Above /healthz's 2 s database timeout, so a half-open partition is seen as one.
			partitionMs: 3_000,
			offlineAdds: 400,
			offlineChanges: 1_600,
			reconnectDevices: 20,
			skewMs: 24 * 60 * 60 * 1000
		};

/** The load every scenario puts on while its fault happens. */
export const pace = { editEveryMs: 25, pushEveryMs: 40 };

/** How long a scenario may take to catch up after its fault ends before it counts as failed. */
export const recoverTimeoutMs = long ? 120_000 : 45_000;

export const mode = long ? 'long' : 'short';
