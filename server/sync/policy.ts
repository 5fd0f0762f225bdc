import type { ResolutionStrategy } from './resolver.ts';
import type { EntityName } from './visibility.ts';

/**
 * Which strategy resolves a conflicting field: a policy table, (entity, field) →
 * strategy (docs/product-spec.md "Conflict resolution (ConflictResolver)"). Defaults follow the spec's special cases and the CRDT rules (crdt/SPEC.md):
 * - FIELD_MERGE where the register's own resolver IS the spec's rule: `purchased` (OR, MAT-2),
 *   `quantity` (max, MAT-4), notes (append, mergeNotes), assignments (add-wins set: add/remove/replace),
 *   hours (counter), tombstones (TOMB-1);
 * - ROLE_BASED for the job's role-ruled fields (JOB-1/2);
 * - USER_CHOICE for customer contact details (UC-1);
 * - LAST_WRITE_WINS for plain fields (LWW-1);
 * - SERVER_WINS for `createdAt`, which no later write should move.
 */
export type PolicyTable = Readonly<Record<EntityName, Readonly<Record<string, ResolutionStrategy>>>> & {
	/** Strategy of a field the table does not list. */
	readonly fallback: ResolutionStrategy;
};

export const defaultPolicy: PolicyTable = {
	customer: {
		name: 'LAST_WRITE_WINS',
		phone: 'USER_CHOICE',
		email: 'USER_CHOICE',
		address: 'USER_CHOICE',
		notes: 'FIELD_MERGE',
		deleted: 'FIELD_MERGE',
		createdAt: 'SERVER_WINS'
	},
	job: {
		customerId: 'ROLE_BASED',
		title: 'ROLE_BASED',
		status: 'ROLE_BASED',
		scheduledStart: 'ROLE_BASED',
		scheduledEnd: 'ROLE_BASED',
		address: 'ROLE_BASED',
		price: 'ROLE_BASED',
		assignedTo: 'FIELD_MERGE',
		notes: 'FIELD_MERGE',
		hoursLogged: 'FIELD_MERGE',
		deleted: 'FIELD_MERGE',
		createdAt: 'SERVER_WINS'
	},
	material: {
		name: 'LAST_WRITE_WINS',
		unit: 'LAST_WRITE_WINS',
		quantity: 'FIELD_MERGE',
		purchased: 'FIELD_MERGE',
		notes: 'FIELD_MERGE',
		deleted: 'FIELD_MERGE',
		createdAt: 'SERVER_WINS'
	},
	fallback: 'SERVER_WINS'
};

export function strategyFor(policy: PolicyTable, entity: EntityName, field: string): ResolutionStrategy {
	return policy[entity][field] ?? policy.fallback;
}

/** A policy with every field of every entity resolved by `strategy` (tests, special deployments). */
export function uniformPolicy(strategy: ResolutionStrategy): PolicyTable {
	const all = (fields: Record<string, ResolutionStrategy>) =>
		Object.fromEntries(Object.keys(fields).map((f) => [f, strategy]));
	return {
		customer: all(defaultPolicy.customer),
		job: all(defaultPolicy.job),
		material: all(defaultPolicy.material),
		fallback: strategy
	};
}
