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
	startServer
} from './support.ts';

/**
 * A crew member's phone (390 × 844) on a roof: thumb-sized targets, undo that really undoes adds,
 * names that read in full, and errors in plain words. Real server, real Chromium.
 */
const STEP_MS = e2eDefaults.stepMs;
const MIN_TARGET_PX = 44;

interface Target {
	what: string;
	width: number;
	height: number;
}

/**
 * Every visible button, link, input, select and textarea, measured as a thumb meets it: a checkbox
 * inside its label is the label's size. Returns the ones under 44 × 44 px.
 */
function smallTargets(page: Page): Promise<Target[]> {
	return page.evaluate((min) => {
		const small: Target[] = [];
		const elements = document.querySelectorAll<HTMLElement>(
			'button, a[href], input, select, textarea, summary'
		);
		for (const element of elements) {
			if (element instanceof HTMLInputElement && element.type === 'hidden') continue;
			const style = getComputedStyle(element);
			if (style.visibility === 'hidden' || style.display === 'none') continue;
			const own = element.getBoundingClientRect();
			if (own.width === 0 || own.height === 0) continue;
			// Off-screen on purpose (the skip link until focused).
			if (own.right <= 0 || own.bottom <= 0 || own.left >= window.innerWidth) continue;
			const label = element.closest('label');
			const rect =
				label && element instanceof HTMLInputElement && ['checkbox', 'radio'].includes(element.type)
					? label.getBoundingClientRect()
					: own;
			if (rect.width + 0.5 < min || rect.height + 0.5 < min) {
				const name =
					element.getAttribute('aria-label') ||
					element.textContent?.trim() ||
					element.getAttribute('placeholder') ||
					element.id ||
					element.tagName;
				small.push({
					what: `${element.tagName.toLowerCase()} "${name.slice(0, 40)}"`,
					width: Math.round(rect.width),
					height: Math.round(rect.height)
				});
			}
		}
		return small;
	}, MIN_TARGET_PX);
}

describe('made for a phone on a roof', () => {
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

	async function phone(email: string): Promise<Page> {
		const context = await newPhone(browser);
		contexts.push(context);
		const page = await context.newPage();
		await signIn(page, server.base, email);
		return page;
	}

	const syncState = (page: Page) => page.getByTestId('sync-status').getAttribute('data-state');

	it('every control on the board, a job and a customer is at least 44 × 44 px at 390 px', async () => {
		for (const email of ['ana@khs.demo', 'owner@khs.demo']) {
			const page = await phone(email);
			const who = email.split('@')[0];
			await page.locator('[data-testid=job-card]').first().waitFor({ timeout: STEP_MS });
			expect(await smallTargets(page), `board (${who})`).toEqual([]);
			await screenshot(page, `phone-1-board-${who}`);

			await page.goto(`${server.base}/jobs/${demo.roofJob}`);
			await page.getByTestId('material-list').waitFor({ timeout: STEP_MS });
			// With one material's "More" panel open too (notes, delete).
			await material(page, 'Ridge caps').getByRole('button', { name: /More/ }).click();
			expect(await smallTargets(page), `job page (${who})`).toEqual([]);
			await screenshot(page, `phone-2-job-${who}`);

			await page.goto(`${server.base}/customers/${demo.harborView}`);
			await page.locator('#cust-phone').waitFor({ timeout: STEP_MS });
			expect(await smallTargets(page), `customer page (${who})`).toEqual([]);
			await screenshot(page, `phone-3-customer-${who}`);

			if (email === 'owner@khs.demo') {
				// The Team page, with one member's confirm step open (docs/server-rules.md TEAM-*).
				await page.goto(`${server.base}/team`);
				await page.getByTestId('team-list').waitFor({ timeout: STEP_MS });
				await page.getByRole('button', { name: 'Disable Ana Alves' }).click();
				expect(await smallTargets(page), 'team page (owner)').toEqual([]);
				await screenshot(page, 'phone-3b-team-owner');
				await page.getByRole('button', { name: 'Cancel' }).click();
			}
		}
	}, 120_000);

	it('undo takes back a material add and a note add, restorably, with no red notices', async () => {
		const ana = await phone('ana@khs.demo');
		await ana.goto(`${server.base}/jobs/${demo.roofJob}`);
		await ana.getByTestId('material-list').waitFor({ timeout: STEP_MS });

		const long = 'Grout, unsanded, white, 10 kg bag for the north wall';
		await ana.getByTestId('new-material-name').fill(long);
		await ana.getByTestId('new-material-quantity').fill('3');
		await ana.locator('#new-mat-unit').fill('bag');
		await ana.getByTestId('add-material').click();
		const row = material(ana, long);
		await row.waitFor();
		// Said, shown, and the form is clean for the next one (the unit too).
		await expect.poll(() => ana.getByTestId('material-added').textContent()).toContain(`Added ${long}`);
		expect(await ana.locator('#new-mat-unit').inputValue()).toBe('');
		await expect
			.poll(() =>
				row.evaluate((el) => {
					const r = el.getBoundingClientRect();
					return r.top >= 0 && r.bottom <= window.innerHeight;
				})
			)
			.toBe(true);
		// The whole name reads: nothing scrolled away inside its box.
		const name = row.getByTestId('material-name');
		expect(await name.inputValue()).toBe(long);
		expect(
			await name.evaluate(
				(el) => el.scrollHeight <= el.clientHeight + 1 && el.scrollWidth <= el.clientWidth + 1
			)
		).toBe(true);
		await screenshot(ana, 'phone-4-material-added');

		await ana.locator('#job-note').fill('Ladder on the north side');
		await ana.locator('#job-note').press('Enter');
		const notes = ana.locator('section[aria-labelledby=notes-h]');
		await notes.getByText('Ladder on the north side').waitFor();
		await expect.poll(() => syncState(ana), { timeout: STEP_MS }).toBe('saved');

		await ana.getByTestId('undo').click();
		await expect.poll(() => notes.getByText('Ladder on the north side').count()).toBe(0);
		await ana.getByTestId('undo').click();
		await expect.poll(() => row.count()).toBe(0);
		// Tombstoned, not erased: it waits under "Deleted materials" to be restored.
		await ana.getByText('Deleted materials (1)').waitFor();
		await expect.poll(() => syncState(ana), { timeout: STEP_MS }).toBe('saved');

		// The server kept both undos: after a reload they are still undone, and nothing was refused.
		await ana.reload();
		await ana.getByTestId('material-list').waitFor({ timeout: STEP_MS });
		await ana.getByText('Deleted materials (1)').waitFor({ timeout: STEP_MS });
		expect(await row.count()).toBe(0);
		expect(await notes.getByText('Ladder on the north side').count()).toBe(0);
		expect(await ana.locator('[data-testid=notice][data-kind=rejected]').count()).toBe(0);
		await screenshot(ana, 'phone-5-after-undo');

		await ana.getByText('Deleted materials (1)').click();
		await ana.getByRole('button', { name: 'Restore' }).click();
		await row.waitFor({ timeout: STEP_MS });
	}, 120_000);

	it('a wrong link says "No such job" at once; a worker is told "Not found, or not on your jobs"', async () => {
		const ana = await phone('ana@khs.demo');
		await ana.goto(`${server.base}/jobs/not-a-job`);
		await ana.getByText('No such job').waitFor({ timeout: 5_000 });
		await screenshot(ana, 'phone-6-malformed-job-link');

		await ana.goto(`${server.base}/jobs/${crypto.randomUUID()}`);
		await ana.getByText('Not found, or not on your jobs').waitFor({ timeout: STEP_MS });
		await screenshot(ana, 'phone-7-unknown-job-worker');
	}, 60_000);
});
