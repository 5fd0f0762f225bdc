import { describe, expect, it } from 'vitest';
import { absoluteShell } from './shell.ts';

const rootShell = `<link href="./_app/immutable/assets/0.css" rel="stylesheet">
<script>
	__sveltekit_x = { base: new URL(".", location).pathname.slice(0, -1) };
	Promise.all([import("./_app/immutable/entry/start.js"), import("./_app/immutable/entry/app.js")]);
	const script_url = './service-worker.js';
</script>`;

describe('offline shell', () => {
	it('makes asset paths and the base absolute, so the shell works on any route', () => {
		const html = absoluteShell(rootShell);
		expect(html).toContain('href="/_app/immutable/assets/0.css"');
		expect(html).toContain('import("/_app/immutable/entry/start.js")');
		expect(html).toContain("'/service-worker.js'");
		expect(html).toContain('base: ""');
		expect(html).not.toMatch(/\.\/_app/);
	});

	it('also handles a nested page rendered with ../ paths', () => {
		const nested = rootShell.replaceAll('./_app', '../_app').replace('new URL(".",', 'new URL("..",');
		const html = absoluteShell(nested);
		expect(html).toContain('import("/_app/immutable/entry/app.js")');
		expect(html).toContain('base: ""');
	});
});
