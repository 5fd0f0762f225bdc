// Preloaded into every server by `npm run bench:peers` when BENCH_HEAP_PROFILE=<dir> (plain JS: it
// loads before tsx): V8's sampling heap profiler over the measured part of a scenario, on IPC
// request. Unlike `node --heap-prof`, which keeps only what is still alive at exit, it counts what
// the garbage collector has already collected too — where the bytes come from that make GC a
// sixth of the server's busy time (README "Against peers").
// IPC: { type: 'heap-start' } starts sampling; { type: 'heap-stop', file } writes the profile to
// `file` and answers { type: 'heap-stopped', file }.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

const session = new Session();
session.connect();

process.on('message', async (message) => {
	if (message?.type === 'heap-start') {
		await session.post('HeapProfiler.startSampling', {
			// One sample per 32 KiB allocated on average (V8's default), every collected object included.
			samplingInterval: 32_768,
			includeObjectsCollectedByMajorGC: true,
			includeObjectsCollectedByMinorGC: true
		});
		process.send?.({ type: 'heap-started' });
	} else if (message?.type === 'heap-stop') {
		const { profile } = await session.post('HeapProfiler.stopSampling');
		writeFileSync(message.file, JSON.stringify(profile));
		process.send?.({ type: 'heap-stopped', file: message.file });
	}
});
