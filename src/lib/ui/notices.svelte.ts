import { appSyncDefaults } from '$lib/sync/defaults.ts';

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
	/** One thing the person can do about it ("Use mine (3)"); the notice closes when done. */
	action?: NoticeAction;
}

export interface NoticeAction {
	label: string;
	run: () => void;
}

class NoticeStore {
	items = $state<Notice[]>([]);
	private next = 1;

	push(kind: NoticeKind, text: string, subject?: string, action?: NoticeAction): number {
		const id = this.next++;
		// The same sentence twice in a row (two docs reporting one rejection) shows once.
		if (this.items.some((n) => n.text === text && n.subject === subject)) return id;
		const notice: Notice = action
			? { id, kind, text, subject, at: Date.now(), action }
			: { id, kind, text, subject, at: Date.now() };
		this.items = [...this.items, notice].slice(-appSyncDefaults.noticeMax);
		// Informational notices (a merge outcome, a confirmation) close by themselves; a change the
		// server undid or an error stays until dismissed, since it may need the person to act.
		if (kind === 'info') setTimeout(() => this.dismiss(id), appSyncDefaults.infoNoticeTtlMs);
		if (kind === 'merge') setTimeout(() => this.dismiss(id), appSyncDefaults.noticeTtlMs);
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
