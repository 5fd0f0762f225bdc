import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ClientState, ClientStorage } from './storage.ts';

/**
 * Node file store: JSON written to a temporary file and renamed over the old one, so a crash leaves
 * either the old or the new state, never half of one.
 */
export class FileStorage implements ClientStorage {
	constructor(private readonly path: string) {}

	async load(): Promise<ClientState> {
		try {
			return JSON.parse(await readFile(this.path, 'utf8')) as ClientState;
		} catch (error) {
			if ((error as { code?: string }).code === 'ENOENT') return { queue: [] };
			throw error;
		}
	}

	async save(state: ClientState): Promise<void> {
		await mkdir(dirname(this.path), { recursive: true });
		const tmp = `${this.path}.${process.pid}.tmp`;
		await writeFile(tmp, JSON.stringify(state));
		await rename(tmp, this.path);
	}
}
