/**
 * SvelteKit renders asset paths relative to the page ("./_app/…" at `/`, "../_app/…" at
 * `/jobs/x`) and computes its base from `location`. The offline shell is the `/` page served for
 * every route, so the service worker makes its paths absolute first; otherwise a reload of
 * `/jobs/x` offline would look for `/jobs/_app/…` and route under a base of `/jobs`.
 * Valid because the app is served at the origin root (no `paths.base`).
 */
export function absoluteShell(html: string): string {
	return html
		.replace(/(["'])(?:\.\.?\/)+(_app\/|service-worker\.js)/g, '$1/$2')
		.replace(/new URL\((["'])\.{1,2}\1, location\)\.pathname\.slice\(0, -1\)/g, '""');
}
