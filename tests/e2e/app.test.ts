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
	setQuantity,
	signIn,
	startServer,
	waitForOfflineShell
} from './support.ts';

/**
 * The app's four scenarios (docs/architecture.md "The app") against the real server (demo seed) in real Chromium, then the customer
 * screens: the USER_CHOICE conflict inbox and the worker's read-only customer. Worker Ana is on the
 * crew of "Roof repair, building B" (customer Harbor View) and "Kitchen backsplash" (Dana
 * Whitfield), not on Greenleaf Café's job; the owner sees everything.
 */
const STEP_MS = e2eDefaults.stepMs;

describe('app end to end', () => {
	let server: RunningServer;
	let browser: Browser;
	const contexts: BrowserContext[] = [];

	beforeAll(async () => {
		// Fail, never skip: CI installs Debian's chromium (.ci/run); a missing browser is a broken setup.
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

	async function openJob(page: Page, jobId = demo.roofJob): Promise<void> {
		await page.goto(`${server.base}/jobs/${jobId}`);
		await page.getByTestId('material-list').waitFor({ timeout: STEP_MS });
	}

	async function addMaterial(page: Page, name: string, quantity: number): Promise<void> {
		await page.getByTestId('new-material-name').fill(name);
		await page.getByTestId('new-material-quantity').fill(String(quantity));
		await page.getByTestId('add-material').click();
		await material(page, name).waitFor();
	}

	it('1. a worker and the owner see each other’s material edits live', async () => {
		const ana = await person('ana@khs.demo');
		const owner = await person('owner@khs.demo');
		await openJob(ana);
		await openJob(owner);

		await addMaterial(ana, 'Flashing tape', 2);
		await material(owner, 'Flashing tape').waitFor({ timeout: STEP_MS });

		await setQuantity(owner, 'Flashing tape', 4);
		await expect
			.poll(() => material(ana, 'Flashing tape').getByTestId('material-quantity').inputValue(), {
				timeout: STEP_MS
			})
			.toBe('4');
		// Presence: each sees the other on the page.
		await expect
			.poll(() => owner.getByTestId('presence').textContent(), { timeout: STEP_MS })
			.toContain('Ana');

		await screenshot(ana, 'e2e-1-worker-live');
		await screenshot(owner, 'e2e-1-owner-live');
	}, 90_000);

	it('2. offline edits survive a reload and merge by max and OR; the owner is told why', async () => {
		const ana = await person('ana@khs.demo');
		const owner = await person('owner@khs.demo');
		await openJob(owner);
		await addMaterial(owner, 'Drip edge', 5);
		await openJob(ana);
		await material(ana, 'Drip edge').waitFor({ timeout: STEP_MS });
		await expect
			.poll(() => ana.getByTestId('sync-status').getAttribute('data-state'), { timeout: STEP_MS })
			.toBe('saved');
		await waitForOfflineShell(ana);

		await ana.context().setOffline(true);
		await expect.poll(() => ana.getByTestId('sync-status').getAttribute('data-state')).toBe('offline');
		await setQuantity(ana, 'Drip edge', 8);
		await material(ana, 'Drip edge').getByTestId('material-purchased').check();

		// Reload with no network: the shell comes from the service worker, the list from IndexedDB.
		await ana.reload();
		await material(ana, 'Drip edge').waitFor({ timeout: STEP_MS });
		expect(await material(ana, 'Drip edge').getByTestId('material-quantity').inputValue()).toBe('8');
		expect(await material(ana, 'Drip edge').getByTestId('material-purchased').isChecked()).toBe(true);
		expect(Number(await ana.getByTestId('sync-status').getAttribute('data-pending'))).toBeGreaterThan(0);
		await screenshot(ana, 'e2e-2-worker-offline-after-reload');

		// Meanwhile the owner, online, lowers the quantity and ticks then un-ticks purchased.
		await setQuantity(owner, 'Drip edge', 3);
		const ownerTick = material(owner, 'Drip edge').getByTestId('material-purchased');
		await ownerTick.check();
		await ownerTick.uncheck();
		await expect
			.poll(() => owner.getByTestId('sync-status').getAttribute('data-state'), { timeout: STEP_MS })
			.toBe('saved');

		await ana.context().setOffline(false);
		for (const page of [ana, owner]) {
			await expect
				.poll(() => material(page, 'Drip edge').getByTestId('material-quantity').inputValue(), {
					timeout: STEP_MS
				})
				.toBe('8');
			await expect
				.poll(() => material(page, 'Drip edge').getByTestId('material-purchased').isChecked(), {
					timeout: STEP_MS
				})
				.toBe(true);
		}
		await expect
			.poll(() => ana.getByTestId('sync-status').getAttribute('data-state'), { timeout: STEP_MS })
			.toBe('saved');
		const notice = owner.locator('[data-testid=notice][data-kind=merge]');
		await expect
			.poll(() => notice.allTextContents(), { timeout: STEP_MS })
			.toEqual(expect.arrayContaining([expect.stringMatching(/Quantity is 8, not 3: Ana( \w+)? raised it/)]));
		await expect
			.poll(() => notice.allTextContents(), { timeout: STEP_MS })
			.toEqual(expect.arrayContaining([expect.stringMatching(/Purchased is ticked: Ana( \w+)? ticked it/)]));
		await screenshot(ana, 'e2e-2-worker-back-online');
		await screenshot(owner, 'e2e-2-owner-notice');
	}, 120_000);

	it('3. the owner’s open board updates live when a worker changes a job’s status', async () => {
		const owner = await person('owner@khs.demo');
		const ana = await person('ana@khs.demo');
		const card = owner.locator(`[data-testid=job-card][data-job-id="${demo.roofJob}"]`);
		await card.waitFor({ timeout: STEP_MS });
		expect(await card.getAttribute('data-status')).toBe('in_progress');

		await openJob(ana);
		await ana.getByTestId('job-status').selectOption('on_hold');
		await expect.poll(() => card.getAttribute('data-status'), { timeout: 5_000 }).toBe('on_hold');
		expect(await owner.locator('[data-testid=board-column][data-status=on_hold]').textContent()).toContain(
			'Roof repair, building B'
		);
		await screenshot(owner, 'e2e-3-owner-board-live');
	}, 90_000);

	it('4. a worker never sees the price, and a forbidden price edit is undone with a notice', async () => {
		const ana = await person('ana@khs.demo');
		await openJob(ana);
		expect(await ana.getByTestId('job-price').count()).toBe(0);
		expect(await ana.locator('main').textContent()).not.toMatch(/8[,.]?400/);

		// The price lives in `job-owner:`, which the app never opens for a worker (crdt AUD-2). A tampered
		// client can only write a price entry into the shared job document, and the server undoes it.
		const opened = await ana.evaluate((jobId) => {
			type Session = {
				doc: { getMap(n: string): Map<string, unknown> };
				ctx: { writer: { userId: string; deviceId: string; role: string } };
			};
			const khs = (window as unknown as { __khs: { sync: { get(n: string): Session | undefined } } }).__khs;
			const session = khs.sync.get(`job:${jobId}`);
			if (!session) throw new Error('the job is not open');
			// Well-formed, her own identity: what an app from before the document split could still send.
			const { userId: u, deviceId: d, role: r } = session.ctx.writer;
			session.doc.getMap('job').set('price|tampered', { t: Date.now(), c: 0, u, d, r, v: 1 });
			return !!khs.sync.get(`job-owner:${jobId}`);
		}, demo.roofJob);
		expect(opened).toBe(false);
		const notice = ana.locator('[data-testid=notice][data-kind=rejected]');
		await expect
			.poll(() => notice.allTextContents(), { timeout: STEP_MS })
			.toEqual(expect.arrayContaining([expect.stringMatching(/price was undone/)]));
		expect(await ana.locator('main').textContent()).not.toMatch(/8[,.]?400/);

		const owner = await person('owner@khs.demo');
		await openJob(owner);
		await expect.poll(() => owner.getByTestId('job-price').inputValue(), { timeout: STEP_MS }).toBe('8400');
		await screenshot(ana, 'e2e-4-worker-price-undone');
	}, 90_000);

	it('5. a phone number changed on two devices at once lands in the conflict inbox; the owner picks one', async () => {
		const office = await person('owner@khs.demo', true);
		const phone = await person('owner@khs.demo');
		const syncState = (page: Page) => page.getByTestId('sync-status').getAttribute('data-state');
		const setPhone = async (page: Page, value: string) => {
			await page.locator('#cust-phone').fill(value);
			await page.locator('#cust-phone').press('Enter');
		};
		for (const page of [office, phone]) {
			await page.goto(`${server.base}/customers/${demo.greenleaf}`);
			await page.locator('#cust-phone').waitFor({ timeout: STEP_MS });
		}
		await expect.poll(() => syncState(phone), { timeout: STEP_MS }).toBe('saved');

		// The phone is offline while both devices write a different number.
		await phone.context().setOffline(true);
		await expect.poll(() => syncState(phone), { timeout: STEP_MS }).toBe('offline');
		await setPhone(phone, '555-0002');
		await setPhone(office, '555-0001');
		await expect.poll(() => syncState(office), { timeout: STEP_MS }).toBe('saved');
		await phone.context().setOffline(false);

		// Both values are kept, side by side, where the field was: nobody's number is silently lost.
		const inPlace = office.locator('[data-testid=conflict][data-field=phone]');
		await inPlace.waitFor({ timeout: STEP_MS });
		await expect.poll(() => inPlace.textContent()).toMatch(/555-0001[\s\S]*555-0002|555-0002[\s\S]*555-0001/);

		await office.getByRole('link', { name: 'Conflicts' }).click();
		const inbox = office.getByTestId('conflict-inbox');
		await inbox.waitFor({ timeout: STEP_MS });
		const item = inbox.locator('li', { hasText: 'Greenleaf Café' });
		expect(await item.locator('[data-testid=conflict][data-field=phone]').textContent()).toMatch(
			/Phone: 2 different values/
		);
		await screenshot(office, 'e2e-5-owner-conflict-inbox');

		await item.getByRole('button', { name: 'Keep this: 555-0002' }).click();
		await office.getByText('No conflicts').waitFor({ timeout: STEP_MS });
		const confirmation = office.locator('[data-testid=notice][data-kind=info]');
		await expect
			.poll(() => confirmation.allTextContents(), { timeout: STEP_MS })
			.toEqual(expect.arrayContaining([expect.stringMatching(/Phone is now 555-0002/)]));

		// The choice reaches the other device: one number again, no conflict left there either.
		await expect.poll(() => phone.locator('#cust-phone').count(), { timeout: STEP_MS }).toBe(1);
		expect(await phone.locator('#cust-phone').inputValue()).toBe('555-0002');
		expect(await phone.getByTestId('conflict').count()).toBe(0);
		await screenshot(office, 'e2e-5-owner-conflict-resolved');
		await screenshot(phone, 'e2e-5-owner-phone-after-choice');
	}, 120_000);

	it('6. a worker sees their customers read-only and cannot open anyone else’s', async () => {
		const ana = await person('ana@khs.demo');
		await ana.getByRole('link', { name: 'Customers' }).click();
		const list = ana.locator('ul.list');
		await list.waitFor({ timeout: STEP_MS });
		await expect.poll(() => list.textContent(), { timeout: STEP_MS }).toContain('Harbor View Apartments');
		expect(await list.textContent()).not.toContain('Greenleaf Café');
		// No "New customer" form for a worker.
		expect(await ana.getByLabel('New customer').count()).toBe(0);

		await list.getByRole('link', { name: /Harbor View Apartments/ }).click();
		await ana.locator('#cust-phone').waitFor({ timeout: STEP_MS });
		await ana.getByText('Only the owner can change customer details.').waitFor();
		for (const field of ['#cust-name', '#cust-phone', '#cust-email', '#cust-address']) {
			expect(await ana.locator(field).isEditable()).toBe(false);
		}
		expect(await ana.locator('#cust-phone').inputValue()).toBe('555-0142');
		// A crew member on site can still call the customer.
		expect(await ana.getByTestId('cust-phone-link').getAttribute('href')).toBe('tel:555-0142');
		// Customer notes are read-only too: no field to add one.
		expect(await ana.locator('#cust-note').count()).toBe(0);
		await screenshot(ana, 'e2e-6-worker-customer-read-only');

		await ana.goto(`${server.base}/customers/${demo.greenleaf}`);
		await ana.getByText('This customer could not be opened').waitFor({ timeout: STEP_MS });
		expect(await ana.locator('#cust-phone').count()).toBe(0);
		await screenshot(ana, 'e2e-6-worker-customer-forbidden');
	}, 90_000);

	it('7. a worker taken off a job while it is open is told so at once', async () => {
		const ana = await person('ana@khs.demo');
		await openJob(ana, demo.backsplashJob);
		const owner = await person('owner@khs.demo', true);
		await openJob(owner, demo.backsplashJob);
		await owner.getByRole('checkbox', { name: 'Ana Alves' }).uncheck();
		await ana.getByText('You are not on this job').waitFor({ timeout: STEP_MS });
		// Every document the removal closes (the job, its materials, its customer: SES-5) has been told,
		// so every notice it could raise is up; then there must be exactly one.
		const revoked = [`job:${demo.backsplashJob}`, `materials:${demo.backsplashJob}`, `customer:${demo.dana}`];
		await expect
			.poll(
				() =>
					ana.evaluate((names) => {
						type Session = { denied: string | null };
						const khs = (window as unknown as { __khs: { sync: { get(n: string): Session | undefined } } })
							.__khs;
						return names.filter((n) => {
							const session = khs.sync.get(n);
							return session !== undefined && session.denied !== 'access_revoked';
						});
					}, revoked),
				{ timeout: STEP_MS }
			)
			.toEqual([]);
		const takenOff = ana.locator('[data-testid=notice]', { hasText: 'You were taken off this job' });
		const texts = await takenOff.allTextContents();
		expect(texts, texts.join(' | ')).toHaveLength(1);
		await screenshot(ana, 'e2e-7-worker-taken-off-job');
	}, 60_000);
});
