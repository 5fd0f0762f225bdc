import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	demo,
	e2eDefaults,
	hasChromium,
	launchBrowser,
	newPhone,
	type RunningServer,
	screenshot,
	signIn,
	startServer
} from './support.ts';

/**
 * The owner's Team page (docs/server-rules.md TEAM-1…4, SES-3) on a 390 px phone against the real
 * server (demo seed) in real Chromium: add Cara with a first password, Cara signs in on her own
 * phone and works on a job, the owner turns her access off and Cara's open app signs out and says
 * why; back on, she signs in again.
 */
const STEP_MS = e2eDefaults.stepMs;
const CARA = { name: 'Cara', email: 'cara@khs.demo', password: 'ridge-tiles-42' };

describe('the owner manages the team from the app', () => {
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

	async function phone(): Promise<Page> {
		const context = await newPhone(browser);
		contexts.push(context);
		return context.newPage();
	}

	async function signInAs(page: Page, email: string, password: string): Promise<void> {
		await page.goto(`${server.base}/login`);
		await page.getByLabel('Email').fill(email);
		await page.getByLabel('Password').fill(password);
		await page.getByRole('button', { name: 'Sign in' }).click();
	}

	const row = (page: Page, email: string) => page.locator(`[data-testid=member][data-email="${email}"]`);

	async function addMember(owner: Page, m: { name: string; email: string; password: string }) {
		await owner.locator('#member-name').fill(m.name);
		await owner.locator('#member-email').fill(m.email);
		await owner.locator('#member-role').selectOption('WORKER');
		await owner.locator('#member-password').fill(m.password);
		await owner.getByTestId('add-submit').click();
	}

	/** Disable or Enable on a member's row, through its confirm step. */
	async function toggleAccess(owner: Page, email: string, action: 'Disable' | 'Enable') {
		const member = row(owner, email);
		await member.getByRole('button', { name: `${action} ${CARA.name}` }).click();
		await member.getByText(action === 'Disable' ? /Turn off Cara’s access\?/ : /back on\?/).waitFor();
		await member.getByTestId('member-confirm').click();
	}

	it('TEAM-1: a worker has no Team link and the page tells them it is the owner’s', async () => {
		const ana = await phone();
		await signIn(ana, server.base, 'ana@khs.demo');
		expect(
			await ana.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Team' }).count()
		).toBe(0);
		await ana.goto(`${server.base}/team`);
		await ana.getByText('Nothing for you here').waitFor({ timeout: STEP_MS });
		expect(await ana.locator('#member-name').count()).toBe(0);
	}, 60_000);

	it('TEAM-2…4: the owner adds Cara, Cara works, the owner disables her and her open app signs out', async () => {
		const owner = await phone();
		await signIn(owner, server.base, 'owner@khs.demo');
		// The owner's five tabs all fit a 390 px screen, none clipped.
		const tabs = await owner
			.getByRole('navigation', { name: 'Main' })
			.getByRole('link')
			.evaluateAll((links) =>
				links.map((a) => {
					const r = a.getBoundingClientRect();
					return { label: a.textContent?.trim(), inside: r.left >= 0 && r.right <= window.innerWidth };
				})
			);
		expect(tabs).toEqual(
			['Board', 'Customers', 'Conflicts', 'Team', 'Health'].map((label) => ({ label, inside: true }))
		);
		await owner.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Team' }).click();
		await owner.getByTestId('team-list').waitFor({ timeout: STEP_MS });
		expect(await row(owner, 'ana@khs.demo').textContent()).toContain('Crew member');

		// The first password can be shown to read it out, and hidden again.
		const password = owner.locator('#member-password');
		await password.fill(CARA.password);
		await owner.getByRole('button', { name: 'Show password' }).click();
		expect(await password.getAttribute('type')).toBe('text');
		await owner.getByRole('button', { name: 'Hide password' }).click();
		expect(await password.getAttribute('type')).toBe('password');

		await addMember(owner, CARA);
		await expect
			.poll(() => owner.getByTestId('team-said').textContent(), { timeout: STEP_MS })
			.toContain('Cara is on the team');
		await row(owner, CARA.email).waitFor({ timeout: STEP_MS });
		// The form is clean for the next person.
		expect(await owner.locator('#member-email').inputValue()).toBe('');
		await screenshot(owner, 'team-1-cara-added');

		// Plain words for what the server refuses; nothing is added.
		await addMember(owner, { name: 'Cara again', email: ' CARA@khs.demo ', password: 'another-pass' });
		await expect
			.poll(() => owner.getByTestId('add-problem').textContent(), { timeout: STEP_MS })
			.toBe('That email is already on the team.');
		await addMember(owner, { name: 'Dee', email: 'dee@khs.demo', password: '1234567' });
		await expect
			.poll(() => owner.getByTestId('add-problem').textContent(), { timeout: STEP_MS })
			.toBe('The first password must be at least 8 characters.');
		await screenshot(owner, 'team-2-plain-errors');
		expect(await owner.getByTestId('member').count()).toBe(4);

		// The owner puts Cara on the roof job, so her phone has the job open live.
		await owner.goto(`${server.base}/jobs/${demo.roofJob}`);
		await owner.getByRole('checkbox', { name: CARA.name }).check({ timeout: STEP_MS });
		await expect
			.poll(() => owner.getByTestId('sync-status').getAttribute('data-state'), { timeout: STEP_MS })
			.toBe('saved');

		const cara = await phone();
		await signInAs(cara, CARA.email, CARA.password);
		await cara.waitForURL(`${server.base}/`, { timeout: STEP_MS });
		await cara.locator(`[data-testid=job-card][data-job-id="${demo.roofJob}"]`).waitFor({ timeout: STEP_MS });
		await screenshot(cara, 'team-3-cara-board');
		await cara.goto(`${server.base}/jobs/${demo.roofJob}`);
		await cara.getByTestId('material-list').waitFor({ timeout: STEP_MS });
		await expect
			.poll(() => cara.getByTestId('sync-status').getAttribute('data-state'), { timeout: STEP_MS })
			.toBe('saved');
		const caraToken = await cara.evaluate(
			() => (JSON.parse(localStorage.getItem('khs:session') ?? '{}') as { token?: string }).token
		);
		expect(caraToken).toBeTruthy();

		// Disable, with a confirm step; Cancel first changes nothing.
		await owner.goto(`${server.base}/team`);
		await row(owner, CARA.email).waitFor({ timeout: STEP_MS });
		await row(owner, CARA.email).getByRole('button', { name: 'Disable Cara' }).click();
		await screenshot(owner, 'team-4-confirm-disable');
		await row(owner, CARA.email).getByRole('button', { name: 'Cancel' }).click();
		expect(await row(owner, CARA.email).getByTestId('member-disabled').count()).toBe(0);
		await toggleAccess(owner, CARA.email, 'Disable');
		await row(owner, CARA.email).getByTestId('member-disabled').waitFor({ timeout: STEP_MS });

		// Cara's open job page: her socket is closed (session_revoked) and the app signs her out, saying why.
		await cara.waitForURL(/\/login/, { timeout: STEP_MS });
		await expect
			.poll(() => cara.getByTestId('session-ended').textContent(), { timeout: STEP_MS })
			.toContain('your session ended');
		expect(await cara.evaluate(() => localStorage.getItem('khs:session'))).toBeNull();
		await screenshot(cara, 'team-5-cara-signed-out');
		// Her old token is refused everywhere, as a raw client would find.
		const me = await fetch(`${server.base}/api/auth/me`, {
			headers: { authorization: `Bearer ${caraToken}` }
		});
		expect(me.status).toBe(401);
		// And her password no longer signs her in.
		await signInAs(cara, CARA.email, CARA.password);
		await expect
			.poll(() => cara.getByRole('alert').textContent(), { timeout: STEP_MS })
			.toBe('Your access is turned off. Ask the owner to turn it back on.');

		// Back on: she signs in again with the same password.
		await toggleAccess(owner, CARA.email, 'Enable');
		await expect
			.poll(() => row(owner, CARA.email).getByTestId('member-disabled').count(), { timeout: STEP_MS })
			.toBe(0);
		await signInAs(cara, CARA.email, CARA.password);
		await cara.waitForURL(`${server.base}/`, { timeout: STEP_MS });
		await cara.locator(`[data-testid=job-card][data-job-id="${demo.roofJob}"]`).waitFor({ timeout: STEP_MS });
	}, 180_000);

	it('offline, the page says the team needs the server and its controls are off', async () => {
		const owner = await phone();
		await signIn(owner, server.base, 'owner@khs.demo');
		await owner.goto(`${server.base}/team`);
		await owner.getByTestId('team-list').waitFor({ timeout: STEP_MS });
		await owner.context().setOffline(true);
		await owner.getByTestId('team-offline').waitFor({ timeout: STEP_MS });
		expect(await owner.getByTestId('add-submit').isDisabled()).toBe(true);
		expect(await owner.locator('#member-name').isDisabled()).toBe(true);
		for (const toggle of await owner.getByTestId('member-toggle').all())
			expect(await toggle.isDisabled()).toBe(true);
		await screenshot(owner, 'team-6-offline');
		// Back online: the page's `online` handler re-fetches the team, and the server's answer (not the
		// sync socket's reconnect backoff) turns the controls back on. Wait for exactly that: the
		// notice is gone and every control is enabled again.
		await owner.context().setOffline(false);
		await owner.getByTestId('team-offline').waitFor({ state: 'detached', timeout: STEP_MS });
		const controls = [
			owner.getByTestId('add-submit'),
			owner.locator('#member-name'),
			...(await owner.getByTestId('member-toggle').all())
		];
		await expect
			.poll(async () => (await Promise.all(controls.map((c) => c.isDisabled()))).filter(Boolean).length, {
				timeout: STEP_MS
			})
			.toBe(0);
	}, 60_000);
});
