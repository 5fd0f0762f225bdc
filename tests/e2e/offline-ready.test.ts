import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	demo,
	e2eDefaults,
	hasChromium,
	launchBrowser,
	material,
	newPhone,
	type RunningServer,
	screenshot,
	signIn,
	startServer,
	waitForOfflineShell
} from './support.ts';

/**
 * "Ready before leaving" and an honest connection state, against the real server in real Chromium.
 * Ana crews three demo jobs; she never opens "Kitchen backsplash" or its customer Dana Whitfield
 * while online: the app must have fetched them in the background. Then the server itself dies.
 */
const STEP_MS = e2eDefaults.stepMs;

describe('ready offline, honest connection', () => {
	let server: RunningServer;
	let browser: Browser;
	const contexts: BrowserContext[] = [];

	beforeAll(async () => {
		if (!hasChromium) throw new Error('Debian chromium is missing: apt-get install -y chromium');
		server = await startServer();
		browser = await launchBrowser();
	}, 240_000);

	afterAll(async () => {
		for (const context of contexts) await context.close().catch(() => {});
		await browser?.close();
		await server?.stop();
	});

	async function person(email: string, desktop = false): Promise<Page> {
		const context = desktop
			? await browser.newContext({ viewport: { width: 1280, height: 800 } })
			: await newPhone(browser);
		contexts.push(context);
		const page = await context.newPage();
		await signIn(page, server.base, email);
		return page;
	}

	const syncState = (page: Page) => page.getByTestId('sync-status').getAttribute('data-state');

	it('a worker’s jobs and customers are on the phone before she leaves; offline edits reach the owner', async () => {
		const ana = await person('ana@khs.demo');
		const ready = ana.getByTestId('offline-ready');
		await expect.poll(() => ready.getAttribute('data-state'), { timeout: STEP_MS }).toBe('ready');
		expect(await ready.textContent()).toMatch(/Ready offline · 3 jobs/);
		await waitForOfflineShell(ana);
		await screenshot(ana, 'offline-1-worker-ready');

		await ana.context().setOffline(true);
		await expect.poll(() => syncState(ana)).toBe('offline');

		// A job she never opened, from the device alone.
		await ana.goto(`${server.base}/jobs/${demo.backsplashJob}`);
		await material(ana, 'Subway tile').waitFor({ timeout: STEP_MS });
		await ana.getByTestId('new-material-name').fill('Tile spacers, 3 mm');
		await ana.getByTestId('new-material-quantity').fill('2');
		await ana.getByTestId('add-material').click();
		await material(ana, 'Tile spacers, 3 mm').waitFor();
		await material(ana, 'Subway tile').getByTestId('material-purchased').check();
		// Two edits, counted as two, whatever documents they are in.
		await expect.poll(() => ana.getByTestId('sync-status').getAttribute('data-pending')).toBe('2');
		expect(await ana.getByTestId('sync-status').textContent()).toContain('Offline · 2 not sent');
		await screenshot(ana, 'offline-2-worker-job-never-opened');

		// Her customer too, never opened either.
		await ana.goto(`${server.base}/customers/${demo.dana}`);
		await ana.locator('#cust-phone').waitFor({ timeout: STEP_MS });
		expect(await ana.locator('#cust-phone').inputValue()).toBe('555-0178');
		await screenshot(ana, 'offline-3-worker-customer-never-opened');

		await ana.context().setOffline(false);
		await expect.poll(() => syncState(ana), { timeout: STEP_MS }).toBe('saved');

		const owner = await person('owner@khs.demo', true);
		await owner.goto(`${server.base}/jobs/${demo.backsplashJob}`);
		await material(owner, 'Tile spacers, 3 mm').waitFor({ timeout: STEP_MS });
		await expect
			.poll(() => material(owner, 'Subway tile').getByTestId('material-purchased').isChecked(), {
				timeout: STEP_MS
			})
			.toBe(true);
		await screenshot(owner, 'offline-4-owner-sees-offline-edits');
	}, 150_000);

	it('the owner creates a job offline with a crew and a new customer; back online the crew’s phone shows it', async () => {
		const ana = await person('ana@khs.demo');
		await ana.getByTestId('job-card').first().waitFor({ timeout: STEP_MS });
		const owner = await person('owner@khs.demo', true);
		await expect
			.poll(() => owner.getByTestId('offline-ready').getAttribute('data-state'), { timeout: STEP_MS })
			.toBe('ready');
		await waitForOfflineShell(owner);

		await owner.context().setOffline(true);
		await expect.poll(() => syncState(owner)).toBe('offline');
		await owner.getByTestId('new-job').click();
		await owner.locator('#new-job-title').fill('Porch steps, Elm Road');
		await owner.locator('#new-job-customer').selectOption({ label: '+ New customer…' });
		await owner.locator('#new-job-customer-name').fill('Priya Nair');
		await owner.locator('#new-job-start').fill('2026-12-14');
		await owner.locator('#new-job-address').fill('7 Elm Road');
		await owner.getByRole('checkbox', { name: 'Ana Alves' }).check();
		await screenshot(owner, 'create-1-owner-new-job-form-offline');
		await owner.getByTestId('create-job').click();
		await owner.getByTestId('job-heading').getByText('Porch steps, Elm Road').waitFor({ timeout: STEP_MS });
		expect(await owner.locator('.job-head').textContent()).toContain('7 Elm Road');

		// On the owner's board at once, marked as not sent yet.
		await owner.getByRole('link', { name: 'Board', exact: true }).click();
		const ownerCard = owner.locator('[data-testid=job-card]', { hasText: 'Porch steps, Elm Road' });
		await ownerCard.waitFor({ timeout: STEP_MS });
		expect(await ownerCard.textContent()).toContain('not sent yet');
		await screenshot(owner, 'create-2-owner-board-offline');

		await owner.context().setOffline(false);
		// The crew's open board shows it without a reload, with its new customer.
		const anaCard = ana.locator('[data-testid=job-card]', { hasText: 'Porch steps, Elm Road' });
		await anaCard.waitFor({ timeout: STEP_MS });
		await expect.poll(() => anaCard.textContent(), { timeout: STEP_MS }).toContain('Priya Nair');
		await expect.poll(() => ownerCard.textContent(), { timeout: STEP_MS }).not.toContain('not sent yet');
		await screenshot(ana, 'create-3-crew-board-shows-new-job');
		await screenshot(owner, 'create-4-owner-board-synced');

		// Delete and restore: off the board and back, nothing lost.
		await ownerCard.click();
		await owner.getByTestId('delete-job').click();
		await owner.getByTestId('job-deleted').waitFor();
		await expect.poll(() => anaCard.count(), { timeout: STEP_MS }).toBe(0);
		await owner.getByTestId('restore-job').click();
		await anaCard.waitFor({ timeout: STEP_MS });
	}, 150_000);

	it('the board says "Reconnecting…" when the server dies and is live again after it returns', async () => {
		const owner = await person('owner@khs.demo', true);
		await expect.poll(() => syncState(owner), { timeout: STEP_MS }).toBe('saved');
		await owner.getByTestId('board-meta').getByText('Live').waitFor({ timeout: STEP_MS });

		await server.kill();
		// Within 2 s of losing the server: no "All saved" over a dead connection.
		await expect.poll(() => syncState(owner), { timeout: 2_000, interval: 100 }).toBe('reconnecting');
		expect(await owner.getByTestId('sync-status').textContent()).toContain('Reconnecting…');
		await screenshot(owner, 'connection-1-owner-board-reconnecting');

		await server.restart();
		await expect.poll(() => syncState(owner), { timeout: 30_000 }).toBe('saved');
		await owner.getByTestId('board-meta').getByText('Live').waitFor({ timeout: 30_000 });
		await screenshot(owner, 'connection-2-owner-board-live-again');
	}, 120_000);
});
