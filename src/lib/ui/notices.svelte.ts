import { syncDefaults } from '$lib/sync/defaults.ts';

/**
 * Messages to the user that outlive the action that caused them: merge outcomes, writes the
 * server undid, errors. Shown in one live region by `Notices.svelte`.
 */
export type NoticeKind = 'merge' | 'rejected' | 'error' | 'info';

export interface Notice {
	id: number;
	kind: NoticeKind;
	/** What it is about, e.g. a material's name. */
	subject?: string;
	text: string;
	at: number;
}

class NoticeStore {
	items = $state<Notice[]>([]);
	private next = 1;

	push(kind: NoticeKind, text: string, subject?: string): number {
		const id = this.next++;
		// The same sentence twice in a row (two docs reporting one rejection) shows once.
		if (this.items.some((n) => n.text === text && n.subject === subject)) return id;
		this.items = [...this.items, { id, kind, text, subject, at: Date.now() }].slice(-syncDefaults.noticeMax);
		// Informational notices (a merge outcome, a confirmation) close by themselves; a change the
		// server undid or an error stays until dismissed, since it may need the person to act.
		if (kind === 'info' || kind === 'merge') setTimeout(() => this.dismiss(id), syncDefaults.noticeTtlMs);
		return id;
	}

	dismiss(id: number): void {
		this.items = this.items.filter((n) => n.id !== id);
	}

	clear(): void {
		this.items = [];
	}
}

export const notices = new NoticeStore();
