import type { JobStatus } from '$crdt/schema.ts';
import type { Role } from '$crdt/writer.ts';

/**
 * The HTTP contract this app codes against (the server follows it: server/projection/board.ts). Shapes are
 * exactly what the endpoints return; times are epoch milliseconds.
 */
export interface UserRef {
	id: string;
	name: string;
}

export interface User extends UserRef {
	role: Role;
}

export interface LoginResponse {
	token: string;
	user: User;
}

/** `GET /api/board` → `{ jobs: BoardJob[] }`; a worker gets only their own jobs. */
export interface BoardJob {
	id: string;
	title: string;
	status: JobStatus;
	customer: UserRef | null;
	assignedTo: UserRef[];
	scheduledStart: number | null;
	scheduledEnd: number | null;
	materials: { purchased: number; total: number };
	updatedAt: number;
}

export interface Board {
	jobs: BoardJob[];
}

/** `GET /api/customers` → `CustomerSummary[]`. */
export interface CustomerSummary {
	id: string;
	name: string;
	phone?: string;
	email?: string;
	address?: string;
	updatedAt?: number;
}

/** `GET /api/sync/health` (owner): the spec's SyncHealthReport. Rates are 0..1, durations ms. */
export interface SyncHealth {
	successRate: number;
	averageDuration: number;
	conflictRate: number;
	dataVolume: number;
	recommendations: string[];
}

/** `GET /api/sync/health/series` (owner): one point per interval, oldest first. */
export interface HealthPoint {
	at: number;
	/** Null for an hour with edits but no sync attempt (no connection, push or pull). */
	successRate: number | null;
	conflictRate: number;
	averageDuration: number | null;
}

/** `GET /api/sync/devices` (owner). `lastSync` is epoch ms, or null if the device never synced. */
export interface DeviceSync {
	deviceId: string;
	userId: string;
	lastSync: number | null;
}
