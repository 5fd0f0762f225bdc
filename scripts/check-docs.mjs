#!/usr/bin/env node
// The repository stands on its own: its docs are inside it (docs/README.md). Fails when a tracked
// file cites a file outside the repository or a tracker number instead of a docs/ section or rule
// id, and when a relative markdown link in docs/*.md or README.md points to a missing file.
// Part of `npm run check`.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const self = relative(root, fileURLToPath(import.meta.url));

const SCANNED_DIRS = ['crdt/', 'server/', 'src/', 'tests/', 'migrations/', 'scripts/', 'docs/'];
const SCANNED_FILES = ['README.md', 'CONTRIBUTING.md'];

/** What a reference to something outside the repository looks like. */
const FORBIDDEN = [
	{ pattern: /\.\.\/shared\//, why: 'a path outside the repository' },
	{ pattern: /shared\/seed/, why: 'the spec outside the repository: cite docs/product-spec.md' },
	{ pattern: /shared\/DESIGN/, why: 'the design outside the repository: cite a docs/ section' },
	{ pattern: /\bissue \d+\b/i, why: 'a tracker number: cite a docs/ section or a rule id' }
];

/**
 * Files that may keep such a reference, each with the reason. Applied migrations are checksummed
 * by the migration runner (server/db/migrate.ts: "changed after it was applied"), so their
 * comments can never be edited; docs/README.md "Older references" says where those names point.
 */
const ALLOWED = new Map([
	['migrations/001_documents.sql', 'applied migration: its checksum must never change'],
	['migrations/003_projection.sql', 'applied migration: its checksum must never change'],
	['migrations/004_websocket_sync_metrics.sql', 'applied migration: its checksum must never change']
]);

function trackedFiles() {
	try {
		return execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
			.split('\0')
			.filter((f) => f !== '');
	} catch {
		// Not a git checkout (an unpacked tarball): every file except dependencies and build output.
		const out = [];
		const walk = (dir) => {
			for (const name of readdirSync(join(root, dir))) {
				if (['node_modules', '.git', 'build', '.svelte-kit', 'data'].includes(name)) continue;
				const path = dir ? `${dir}/${name}` : name;
				if (statSync(join(root, path)).isDirectory()) walk(path);
				else out.push(path);
			}
		};
		walk('');
		return out;
	}
}

function isScanned(path) {
	return SCANNED_FILES.includes(path) || SCANNED_DIRS.some((dir) => path.startsWith(dir));
}

function readText(path) {
	const full = join(root, path);
	if (!existsSync(full)) return null; // deleted in the work tree, not yet committed
	const bytes = readFileSync(full);
	if (bytes.includes(0)) return null; // binary
	return bytes.toString('utf8');
}

const problems = [];
const files = trackedFiles().filter(isScanned);

for (const path of files) {
	if (path === self || ALLOWED.has(path)) continue;
	const text = readText(path);
	if (text === null) continue;
	const lines = text.split('\n');
	lines.forEach((line, i) => {
		for (const { pattern, why } of FORBIDDEN) {
			if (pattern.test(line)) problems.push(`${path}:${i + 1}: ${why}: ${line.trim()}`);
		}
	});
}

/** Relative markdown links `[text](target)` outside fenced code blocks. */
function relativeLinks(text) {
	const links = [];
	let fenced = false;
	text.split('\n').forEach((line, i) => {
		if (/^\s*```/.test(line)) {
			fenced = !fenced;
			return;
		}
		if (fenced) return;
		for (const match of line.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
			const target = match[1];
			if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
			links.push({ line: i + 1, target });
		}
	});
	return links;
}

const markdown = files.filter((f) => f === 'README.md' || /^docs\/[^/]+\.md$/.test(f));
for (const path of markdown) {
	const text = readText(path);
	if (text === null) continue;
	for (const { line, target } of relativeLinks(text)) {
		const file = decodeURIComponent(target.replace(/[#?].*$/, ''));
		if (file === '') continue;
		if (!existsSync(resolve(root, dirname(path), file))) {
			problems.push(`${path}:${line}: link to a missing file: ${target}`);
		}
	}
}

if (problems.length > 0) {
	console.error(`check-docs: ${problems.length} problem(s); see docs/README.md\n${problems.join('\n')}`);
	process.exit(1);
}
console.log(`check-docs: ${files.length} files, ${markdown.length} markdown pages: ok`);
