// Preloaded into the server process by `npm run bench:memory` (with --expose-gc and an IPC channel):
// on "mem", collect garbage twice and answer with process.memoryUsage(). Plain JS so Node loads it
// before tsx is registered.
process.on('message', (message) => {
	if (message !== 'mem') return;
	globalThis.gc?.();
	globalThis.gc?.();
	process.send?.({ type: 'mem', gc: typeof globalThis.gc === 'function', ...process.memoryUsage() });
});
// The IPC channel must not keep a server that is shutting down alive.
process.channel?.unref();
