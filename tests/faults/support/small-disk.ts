import { execFile } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A size-limited directory (`mount -t tmpfs -o size=…`, root only) and a filler file to fill it. */
export interface SmallDisk {
	dir: string;
	/** Writes the filler until the disk refuses (ENOSPC); returns the bytes written. */
	fill(): number;
	/** Deletes the filler: space returns. */
	free(): Promise<void>;
	destroy(): Promise<void>;
}

/** Null when this machine refuses the mount (not root, no tmpfs): the caller falls back. */
export async function mountSmallDisk(sizeMb: number): Promise<SmallDisk | null> {
	const dir = await mkdtemp(join(tmpdir(), 'khs-faults-disk-'));
	try {
		await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir]);
	} catch {
		await rmdir(dir).catch(() => {});
		return null;
	}
	const filler = join(dir, 'filler');
	return {
		dir,
		fill() {
			const fd = openSync(filler, 'a');
			let written = 0;
			try {
				for (const size of [1 << 20, 64 << 10, 4 << 10, 512]) {
					const chunk = Buffer.alloc(size, 1);
					for (;;) {
						try {
							written += writeSync(fd, chunk);
						} catch (error) {
							if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
							break;
						}
					}
				}
			} finally {
				closeSync(fd);
			}
			return written;
		},
		async free() {
			await rm(filler, { force: true });
		},
		async destroy() {
			await run('umount', ['-l', dir]).catch(() => {});
			await rm(dir, { recursive: true, force: true });
		}
	};
}
