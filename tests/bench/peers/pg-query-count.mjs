// Preloaded into our server by `npm run bench:peers` when BENCH_PG_COUNT=1 (plain JS: it loads before
// tsx): counts the Postgres statements the process sends, by their first words, so the bench can
// print statements per delivered update. Diagnostic only — it wraps pg.Client#query, nothing else.
// On the IPC message "pg-count" it answers { type: 'pg-count', counts }.
import { createRequire } from 'node:module';

const require = createRequire(`${process.cwd()}/package.json`);
const pg = require('pg');
const counts = {};
const original = pg.Client.prototype.query;
pg.Client.prototype.query = function query(config, ...rest) {
	const text = typeof config === 'string' ? config : config?.text;
	if (typeof text === 'string') {
		const key = text.trim().replace(/\s+/g, ' ').split(' ').slice(0, 3).join(' ').slice(0, 40);
		counts[key] = (counts[key] ?? 0) + 1;
	}
	return original.call(this, config, ...rest);
};
process.on('message', (message) => {
	if (message === 'pg-count') process.send?.({ type: 'pg-count', counts: { ...counts } });
});
