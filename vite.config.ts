import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
	plugins: [sveltekit()],
	test: {
		include: [
			'crdt/**/*.test.ts',
			'wire/**/*.test.ts',
			'migrations/**/*.test.ts',
			'server/**/*.test.ts',
			'tests/**/*.test.ts',
			'src/**/*.test.ts'
		],
		// Starts a throwaway Postgres / Redis when TEST_DATABASE_URL / TEST_REDIS_URL are not given.
		globalSetup: ['tests/support/global-setup.ts'],
		// Integration tests start real servers and databases; give them room, never retry.
		testTimeout: 30_000,
		hookTimeout: 60_000
	}
});
