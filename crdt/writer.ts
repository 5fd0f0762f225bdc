/**
 * Who made a write. Identity is (userId, deviceId, role) — never the Yjs clientID, which is random
 * per Y.Doc instance and changes every session (docs/pitfalls.md "Yjs"; SPEC ID-1).
 */
/** The two roles of the product: OWNER runs the company; WORKER is crew on assigned jobs. */
export const ROLES = ['OWNER', 'WORKER'] as const;
export type Role = (typeof ROLES)[number];

export interface Writer {
	readonly userId: string;
	readonly deviceId: string;
	readonly role: Role;
}

/** Higher rank wins role-ruled fields (the spec's ROLE_BASED: "owner changes override worker changes"). */
export const ROLE_RANK: Readonly<Record<Role, number>> = { OWNER: 2, WORKER: 1 };

export function isRole(value: unknown): value is Role {
	return (ROLES as readonly unknown[]).includes(value);
}
