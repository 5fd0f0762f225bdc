import { randomUUID } from 'node:crypto';
import { PushResponseSchema } from '../../../server/sync/schemas.ts';

/** One material create pushed over `POST /api/sync/push`, and what became of it. */
export interface PushedOp {
	opId: string;
	docName: string;
	materialId: string;
	name: string;
	attempts: number;
	/** `performance.now()` of the first 2xx; undefined while none came back. */
	okAtMs?: number;
	/** `performance.now()` when the first attempt was sent. */
	sentAtMs: number;
	status?: string;
}

/**
 * An honest REST client (the spec's sync API): one material create per push, each operation with
 * its own id (the idempotency key). A push that failed (connection refused, reset, timeout, non-2xx)
 * is retried with the SAME operation id until a 2xx, as a device's outbox does; so a push that was
 * applied but whose answer was lost must come back `duplicate`, never as a second material.
 * `merged` (a device changed the same material meanwhile) is a success too.
 */
export class RestPusher {
	readonly ops: PushedOp[] = [];
	/** Responses by status code (0: no answer). */
	readonly statuses = new Map<number, number>();
	/** The last non-2xx answer (`<status> <code>: <message>`): what a refused write told the client. */
	lastRefusal: string | undefined;
	#pending: PushedOp[] = [];
	#count = 0;
	#base: string;

	constructor(
		base: string,
		private readonly token: string,
		private readonly jobIds: string[],
		readonly label: string,
		private readonly timeoutMs = 10_000
	) {
		this.#base = base;
	}

	/** Where the next request goes (a load balancer choosing another instance). */
	moveTo(base: string): void {
		this.#base = base;
	}

	/** Sends one new create (after retrying everything pending first). Never throws. */
	async pushNext(): Promise<void> {
		await this.retryPending();
		const jobId = this.jobIds[this.#count % this.jobIds.length] as string;
		const op: PushedOp = {
			opId: `${this.label}-op-${this.#count}`,
			docName: `materials:${jobId}`,
			materialId: randomUUID(),
			name: `${this.label}-rest-${this.#count}`,
			attempts: 0,
			sentAtMs: performance.now()
		};
		this.#count++;
		this.ops.push(op);
		if (!(await this.#send(op, jobId))) this.#pending.push(op);
	}

	/** Retries every push still without a 2xx; true when none is left. */
	async retryPending(): Promise<boolean> {
		const still: PushedOp[] = [];
		for (const op of this.#pending) {
			if (!(await this.#send(op, op.docName.slice('materials:'.length)))) still.push(op);
		}
		this.#pending = still;
		return still.length === 0;
	}

	get pending(): number {
		return this.#pending.length;
	}

	okOps(): PushedOp[] {
		return this.ops.filter((op) => op.okAtMs !== undefined);
	}

	async #send(op: PushedOp, jobId: string): Promise<boolean> {
		op.attempts++;
		let status = 0;
		try {
			const res = await fetch(`${this.#base}/api/sync/push`, {
				method: 'POST',
				headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
				body: JSON.stringify({
					deviceId: `${this.label}-device`,
					operations: [
						{
							id: op.opId,
							timestamp: Date.now(),
							type: 'create',
							entity: 'material',
							entityId: op.materialId,
							data: { jobId, name: op.name, quantity: 1, unit: 'box' }
						}
					]
				}),
				signal: AbortSignal.timeout(this.timeoutMs)
			});
			status = res.status;
			const body = await res.json().catch(() => null);
			if (res.status < 200 || res.status >= 300) {
				const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
				this.lastRefusal = `${res.status} ${error?.code ?? ''}: ${error?.message ?? ''}`;
				return false;
			}
			const processed = PushResponseSchema.parse(body).processed[0];
			op.status = processed?.status;
			// merged: a device changed the material concurrently; still a success.
			if (!processed || processed.status === 'rejected')
				throw new Error(`push ${op.opId}: ${JSON.stringify(processed)}`);
			op.okAtMs = performance.now();
			return true;
		} catch (error) {
			if (error instanceof Error && error.message.startsWith(`push ${op.opId}`)) throw error;
			return false;
		} finally {
			this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
		}
	}
}
