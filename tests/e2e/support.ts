import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { openTestPgDb, testDatabaseUrl } from '../../server/db/testing.ts';
import { demoId } from '../../server/seed/demo-content.ts';

/** End-to-end harness: the real server process (`npm start` path) and Debian's Chromium. */
export const e2eDefaults = {
	chromium: '/usr/bin/chromium',
	chromiumArgs: [
		'--headless',
		'--no-sandbox',
		'--disable-gpu',
		'--disable-background-networking',
		'--disable-component-update',
		'--disable-sync'
	],
	startTimeoutMs: 180_000,
	artifacts: join(process.cwd(), 'test-results'),
	phone: { width: 390, height: 844 },
	password: 'demo1234',
	/** How long one step (a page, a sync, a notice) may take before the test fails. */
	stepMs: 20_000
} as const;

/** The demo company's records the tests walk through (server/seed/demo-content.ts). */
export const demo = {
	roofJob: demoId('job:Roof repair, building B'),
	backsplashJob: demoId('job:Kitchen backsplash'),
	greenleaf: demoId('customer:Greenleaf Café'),
	dana: demoId('customer:Dana Whitfield'),
	harborView: demoId('customer:Harbor View Apartments')
} as const;

export const hasChromium = existsSync(e2eDefaults.chromium);

export interface RunningServer {
	base: string;
	/** SIGKILL, as a crash or a pulled plug: the database stays, `restart` brings it back. */
	kill(): Promise<void>;
	/** Starts the server again on the same port and database (after `kill`). */
	restart(): Promise<void>;
	stop(): Promise<void>;
}

/**
 * Starts `scripts/start.mjs` (builds the app when stale) on a free port, on real Postgres in a
 * fresh schema of its own, so the server migrates and seeds the demo company itself, every run
 * starts from an empty database, and parallel runs never share data.
 */
export async function startServer(): Promise<RunningServer> {
	const dataDir = await mkdtemp(join(tmpdir(), 'khs-e2e-'));
	const database = await openTestPgDb();
	const databaseUrl = new URL(testDatabaseUrl);
	databaseUrl.searchParams.set('options', `-c search_path=${database.schema}`);
	const env = {
		...process.env,
		HOST: '127.0.0.1',
		DATA_DIR: dataDir,
		DATABASE_URL: databaseUrl.toString(),
		LOG_LEVEL: 'info'
	};
	let { proc, port } = await spawnServer({ ...env, PORT: '0' });
	const exit = async (signal: NodeJS.Signals) => {
		if (proc.exitCode !== null || proc.signalCode !== null) return;
		const exited = new Promise((r) => proc.once('exit', r));
		proc.kill(signal);
		await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
		if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
	};
	return {
		base: `http://127.0.0.1:${port}`,
		async kill() {
			await exit('SIGKILL');
		},
		async restart() {
			({ proc, port } = await spawnServer({ ...env, PORT: String(port), SKIP_BUILD: '1' }));
		},
		async stop() {
			await exit('SIGTERM');
			await rm(dataDir, { recursive: true, force: true });
			await database.dropSchema();
		}
	};
}

async function spawnServer(env: NodeJS.ProcessEnv): Promise<{ proc: ChildProcess; port: number }> {
	const proc: ChildProcess = spawn(process.execPath, ['scripts/start.mjs'], {
		env,
		stdio: ['ignore', 'pipe', 'inherit']
	});
	const port = await new Promise<number>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error('server did not start')), e2eDefaults.startTimeoutMs);
		proc.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
		createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => {
			try {
				const entry = JSON.parse(line) as { msg?: string; port?: number };
				if (entry.msg === 'listening' && entry.port) {
					clearTimeout(timer);
					resolve(entry.port);
				}
			} catch {
				// Build output, not a log line.
			}
		});
	});
	return { proc, port };
}

export function launchBrowser(): Promise<Browser> {
	return chromium.launch({ executablePath: e2eDefaults.chromium, args: [...e2eDefaults.chromiumArgs] });
}

export async function newPhone(browser: Browser): Promise<BrowserContext> {
	return browser.newContext({ viewport: e2eDefaults.phone, hasTouch: true });
}

/** Signs in through the login form and waits for the board. */
export async function signIn(page: Page, base: string, email: string): Promise<void> {
	await page.goto(`${base}/login`);
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill(e2eDefaults.password);
	await page.getByRole('button', { name: 'Sign in' }).click();
	await page.waitForURL(`${base}/`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
	await mkdir(e2eDefaults.artifacts, { recursive: true });
	await page.screenshot({ path: join(e2eDefaults.artifacts, `${name}.png`), fullPage: true });
}

/** The row of one material, by its name. */
export function material(page: Page, name: string) {
	return page.locator(`[data-testid=material][data-name="${name}"]`);
}

/** Sets a material's quantity the way a person does: type it, press Enter. */
export async function setQuantity(page: Page, name: string, value: number): Promise<void> {
	const input = material(page, name).getByTestId('material-quantity');
	await input.fill(String(value));
	await input.press('Enter');
}

/** Waits until the service worker controls the page, so a reload works offline. */
export async function waitForOfflineShell(page: Page): Promise<void> {
	await page.evaluate(async () => {
		await navigator.serviceWorker.ready;
		if (!navigator.serviceWorker.controller) {
			await new Promise<void>((resolve) =>
				navigator.serviceWorker.addEventListener('controllerchange', () => resolve(), { once: true })
			);
		}
	});
}
