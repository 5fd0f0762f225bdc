/** The two roles of the product. OWNER runs the company; WORKER is crew on assigned jobs. */
export const roles = ['OWNER', 'WORKER'] as const;
export type Role = (typeof roles)[number];

export function isRole(value: unknown): value is Role {
	return value === 'OWNER' || value === 'WORKER';
}

/** What the rest of the server knows about the caller once a token has been checked. */
export interface AuthUser {
	id: string;
	name: string;
	role: Role;
}
