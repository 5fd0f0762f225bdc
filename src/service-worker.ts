/// <reference types="@sveltejs/kit" />
/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />

import { absoluteShell } from '$lib/offline/shell.ts';
import { build, files, version } from '$service-worker';

/**
 * Offline shell (docs/architecture.md "The app", Offline first): the built app and static files are cached at install, and every page
 * navigation falls back to the cached shell when the network is down. The app renders client-side
 * (ssr = false), so one shell serves every route; data comes from IndexedDB and the API client's
 * saved copies. API calls and the websocket are never cached here: stale auth or data must not
 * masquerade as fresh.
 */
const sw = self as unknown as ServiceWorkerGlobalScope;

const swDefaults = {
	cache: `khs-shell-${version}`,
	/** The shell document every navigation can fall back to. */
	shellUrl: '/',
	/** A navigation that takes longer than this on a bad connection is answered from the cache. */
	navigationTimeoutMs: 4_000
} as const;

const PRECACHE = [...build, ...files];

sw.addEventListener('install', (event) => {
	event.waitUntil(
		(async () => {
			const cache = await caches.open(swDefaults.cache);
			await cache.addAll(PRECACHE);
			// The shell page too: a reload offline on any route needs it.
			await storeShell(cache, await fetch(new Request(swDefaults.shellUrl, { cache: 'reload' })));
			await sw.skipWaiting();
		})()
	);
});

sw.addEventListener('activate', (event) => {
	event.waitUntil(
		(async () => {
			for (const key of await caches.keys()) if (key !== swDefaults.cache) await caches.delete(key);
			await sw.clients.claim();
		})()
	);
});

sw.addEventListener('fetch', (event) => {
	const request = event.request;
	if (request.method !== 'GET') return;
	const url = new URL(request.url);
	if (url.origin !== sw.location.origin) return;
	if (url.pathname.startsWith('/api/') || url.pathname === '/collab' || url.pathname === '/healthz') return;

	if (request.mode === 'navigate') {
		event.respondWith(navigate(request));
		return;
	}
	if (PRECACHE.includes(url.pathname)) {
		// Built assets are immutable per version: cache first.
		event.respondWith(caches.match(url.pathname).then((hit) => hit ?? fetch(request)));
	}
});

/** Network first (fresh shell after a deploy), cached shell when offline or too slow. */
async function navigate(request: Request): Promise<Response> {
	const cache = await caches.open(swDefaults.cache);
	try {
		const response = await withTimeout(fetch(request), swDefaults.navigationTimeoutMs);
		if (response.ok && new URL(request.url).pathname === swDefaults.shellUrl) {
			await storeShell(cache, response.clone());
		}
		return response;
	} catch {
		const shell = await cache.match(swDefaults.shellUrl);
		return (
			shell ??
			new Response('Offline and the app is not cached yet. Open it once with a connection.', {
				status: 503,
				headers: { 'content-type': 'text/plain; charset=utf-8' }
			})
		);
	}
}

/** Stores the `/` page with absolute paths, so it can stand in for any route (see shell.ts). */
async function storeShell(cache: Cache, response: Response): Promise<void> {
	if (!response.ok) return;
	const html = absoluteShell(await response.text());
	await cache.put(
		swDefaults.shellUrl,
		new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } })
	);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error('timeout')), ms);
		promise.then(
			(v) => {
				clearTimeout(timer);
				resolve(v);
			},
			(e: unknown) => {
				clearTimeout(timer);
				reject(e);
			}
		);
	});
}
