import fc from 'fast-check';
import * as Y from 'yjs';
import { CustomerDoc, JobDoc, JobOwnerDoc, MaterialListDoc, PrivateNotesDoc } from './documents.ts';
import type { Entity } from './entity.ts';
import {
	causalityViolations,
	type Effect,
	type EntityRef,
	type ModelEntity,
	type ModelOp,
	type ModelStamp,
	modelEntity,
	type Role,
	type Value
} from './reference-model.ts';
import { type Replica, replica, syncAll } from './test-support.ts';

/**
 * The simulation behind the convergence properties (SPEC CONV-1, CONV-2): 2–5 replicas with their
 * own writers and (skewed) clocks make random operations on a material list, a job and a customer,
 * and exchange the updates `doc.on('update')` emits over a lossy network — random order,
 * duplicates, drops, partitions, pairwise catch-up syncs — before a final full sync. Every op is
 * also recorded for the reference model together with what its replica had seen.
 *
 * A scenario is plain data (see `scenarioArb`), so a shrunk counterexample can be pasted into
 * regressions.test.ts as a literal and replayed forever.
 */

export const JOB_ID = '00000000-0000-4000-8000-0000000000c1';
export const CUSTOMER_ID = '00000000-0000-4000-8000-0000000000c2';
const DAY = 86_400_000;
/** The simulated wall clock starts here; replicas see it shifted by their skew. */
const EPOCH = Date.UTC(2025, 5, 1);
/** Origin of updates applied from the network, so the capture ignores them. */
const NETWORK = Symbol('network');

const NAMES = ['Nails', 'Tarp', 'Shingles'] as const;
const UNITS = ['box', 'roll', 'pcs'] as const;
const TITLES = ['Roof', 'Gutter', 'Fence'] as const;
const STATUSES = ['lead', 'scheduled', 'in_progress', 'done'] as const;
const MEMBERS = ['ana', 'ben', 'cy', 'dee'] as const;
const CONTACTS = ['555-0100', '555-0199', 'x@example.com', ''] as const;

export interface ReplicaSpec {
	readonly role: Role;
	/** Wall-clock error in ms, up to a day either way. */
	readonly skew: number;
	/** A second device of the previous replica's user (CNT-2, NOTE-4 across devices). */
	readonly sameUserAsPrevious: boolean;
}

export type OpSpec =
	| { readonly type: 'addMaterial'; readonly name: string; readonly quantity: number; readonly unit: string }
	| { readonly type: 'setMaterial'; readonly pick: number; readonly fields: Readonly<Record<string, Value>> }
	| { readonly type: 'materialNote'; readonly pick: number }
	| {
			readonly type: 'materialNoteMark';
			readonly pick: number;
			readonly note: number;
			readonly deleted: boolean;
	  }
	| { readonly type: 'materialDeleted'; readonly pick: number; readonly deleted: boolean }
	| { readonly type: 'jobSet'; readonly fields: Readonly<Record<string, Value>> }
	| { readonly type: 'jobAddMember'; readonly member: string }
	| { readonly type: 'jobRemoveMember'; readonly member: string }
	| { readonly type: 'jobReplaceMembers'; readonly members: readonly string[] }
	| { readonly type: 'jobHours'; readonly quarters: number }
	| { readonly type: 'jobNote' }
	| { readonly type: 'jobNoteMark'; readonly note: number; readonly deleted: boolean }
	| { readonly type: 'jobPrivateNote' }
	| { readonly type: 'jobPrice'; readonly price: number | null }
	| { readonly type: 'jobDeleted'; readonly deleted: boolean }
	| { readonly type: 'customerSet'; readonly fields: Readonly<Record<string, Value>> }
	| { readonly type: 'customerNote' }
	| { readonly type: 'customerNoteMark'; readonly note: number; readonly deleted: boolean }
	| { readonly type: 'customerDeleted'; readonly deleted: boolean };

export type Step =
	/** Replica `r` makes an operation after the world clock moved on by `tick` ms (0 = same ms). */
	| { readonly s: 'op'; readonly r: number; readonly tick: number; readonly op: OpSpec }
	/** Replica `r` receives one waiting update; `keep` leaves it queued so it arrives again. */
	| { readonly s: 'deliver'; readonly r: number; readonly pick: number; readonly keep: boolean }
	/** Replica `r` receives again an update it already had. */
	| { readonly s: 'duplicate'; readonly r: number; readonly pick: number }
	/** One waiting update for `r` is lost; only the final full sync heals it. */
	| { readonly s: 'drop'; readonly r: number; readonly pick: number }
	/** Replicas split into groups (group per replica); updates cross groups only after `heal`. */
	| { readonly s: 'partition'; readonly groups: readonly number[] }
	| { readonly s: 'heal' }
	/** Two replicas of one group run a full state sync (a reconnect catching up). */
	| { readonly s: 'catchUp'; readonly a: number; readonly b: number };

export interface Scenario {
	readonly replicas: readonly ReplicaSpec[];
	/**
	 * Yjs clientIDs per replica. Yjs breaks some ties by clientID (docs/pitfalls.md "Yjs"), so they are
	 * part of the scenario: a replayed seed replays them too, and shrinking can explore them.
	 */
	readonly clientIds?: readonly number[];
	readonly steps: readonly Step[];
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const anyOf = <T extends Value>(values: readonly T[]) => fc.constantFrom(...values);

/** A non-empty subset of the given field arbitraries, as one multi-field write. */
function fieldsArb(fields: Record<string, fc.Arbitrary<Value>>): fc.Arbitrary<Record<string, Value>> {
	return fc.record(fields, { requiredKeys: [] }).filter((f) => Object.keys(f).length > 0) as fc.Arbitrary<
		Record<string, Value>
	>;
}

const pick = fc.nat({ max: 20 });
const flag = fc.boolean();
const time = fc.oneof(
	fc.constant(null),
	fc.integer({ min: 0, max: 5 }).map((d) => EPOCH + d * DAY)
);

const opArb: fc.Arbitrary<OpSpec> = fc.oneof(
	fc.record({
		type: fc.constant('addMaterial' as const),
		name: anyOf(NAMES),
		quantity: fc.nat({ max: 5 }),
		unit: anyOf(UNITS)
	}),
	fc.record({
		type: fc.constant('setMaterial' as const),
		pick,
		fields: fieldsArb({
			name: anyOf(NAMES),
			quantity: fc.nat({ max: 5 }),
			unit: anyOf(UNITS),
			purchased: flag
		})
	}),
	fc.record({ type: fc.constant('materialNote' as const), pick }),
	fc.record({ type: fc.constant('materialNoteMark' as const), pick, note: pick, deleted: flag }),
	fc.record({ type: fc.constant('materialDeleted' as const), pick, deleted: flag }),
	fc.record({
		type: fc.constant('jobSet' as const),
		fields: fieldsArb({
			title: anyOf(TITLES),
			status: anyOf(STATUSES),
			address: anyOf(['1 Main St', '2 Oak Ave']),
			scheduledStart: time,
			scheduledEnd: time,
			customerId: fc.constantFrom(null, CUSTOMER_ID)
		})
	}),
	fc.record({ type: fc.constant('jobAddMember' as const), member: anyOf(MEMBERS) }),
	fc.record({ type: fc.constant('jobRemoveMember' as const), member: anyOf(MEMBERS) }),
	fc.record({
		type: fc.constant('jobReplaceMembers' as const),
		members: fc.subarray([...MEMBERS])
	}),
	// Quarter hours: exact in binary floating point, so the model's sum is exact too.
	fc.record({
		type: fc.constant('jobHours' as const),
		quarters: fc.integer({ min: -8, max: 16 }).filter((q) => q !== 0)
	}),
	fc.record({ type: fc.constant('jobNote' as const) }),
	fc.record({ type: fc.constant('jobNoteMark' as const), note: pick, deleted: flag }),
	fc.record({ type: fc.constant('jobPrivateNote' as const) }),
	fc.record({
		type: fc.constant('jobPrice' as const),
		price: fc.oneof(
			fc.constant(null),
			fc.integer({ min: 0, max: 3 }).map((n) => n * 500)
		)
	}),
	fc.record({ type: fc.constant('jobDeleted' as const), deleted: flag }),
	fc.record({
		type: fc.constant('customerSet' as const),
		fields: fieldsArb({
			name: anyOf(['Ada', 'Bo']),
			phone: anyOf(CONTACTS),
			email: anyOf(CONTACTS),
			address: anyOf(['1 Main St', '9 Elm Rd'])
		})
	}),
	fc.record({ type: fc.constant('customerNote' as const) }),
	fc.record({ type: fc.constant('customerNoteMark' as const), note: pick, deleted: flag }),
	fc.record({ type: fc.constant('customerDeleted' as const), deleted: flag })
);

const replicaIndex = fc.nat({ max: 4 });

const stepArb: fc.Arbitrary<Step> = fc.oneof(
	{
		weight: 10,
		arbitrary: fc.record({
			s: fc.constant('op' as const),
			r: replicaIndex,
			// Mostly small steps, some in the same millisecond (HLC counter), some big jumps.
			tick: fc.oneof(fc.constant(0), fc.nat({ max: 2_000 }), fc.constant(3_600_000)),
			op: opArb
		})
	},
	{
		weight: 8,
		arbitrary: fc.record({ s: fc.constant('deliver' as const), r: replicaIndex, pick, keep: fc.boolean() })
	},
	{ weight: 1, arbitrary: fc.record({ s: fc.constant('duplicate' as const), r: replicaIndex, pick }) },
	{ weight: 1, arbitrary: fc.record({ s: fc.constant('drop' as const), r: replicaIndex, pick }) },
	{
		weight: 1,
		arbitrary: fc.record({
			s: fc.constant('partition' as const),
			groups: fc.array(fc.nat({ max: 1 }), { minLength: 5, maxLength: 5 })
		})
	},
	{ weight: 1, arbitrary: fc.record({ s: fc.constant('heal' as const) }) },
	{
		weight: 1,
		arbitrary: fc.record({ s: fc.constant('catchUp' as const), a: replicaIndex, b: replicaIndex })
	}
);

export const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
	replicas: fc.array(
		fc.record({
			role: fc.constantFrom<Role>('OWNER', 'WORKER'),
			skew: fc.oneof(fc.constant(0), fc.constantFrom(-DAY, DAY), fc.integer({ min: -DAY, max: DAY })),
			sameUserAsPrevious: fc.boolean()
		}),
		{ minLength: 2, maxLength: 5 }
	),
	clientIds: fc.uniqueArray(fc.integer({ min: 1, max: 2 ** 31 - 1 }), { minLength: 5, maxLength: 5 }),
	steps: fc.array(stepArb, { minLength: 1, maxLength: 100, size: 'max' })
});

// ---------------------------------------------------------------------------------------------
// Simulation

interface Message {
	readonly from: number;
	readonly update: Uint8Array;
}

interface Sim {
	readonly replica: Replica;
	readonly userId: string;
	readonly skew: number;
	readonly materials: MaterialListDoc;
	readonly job: JobDoc;
	/** The job's owner-only part and this user's private notes: their own root maps in the replica's doc. */
	readonly jobOwner: JobOwnerDoc;
	readonly privateNotes: PrivateNotesDoc;
	readonly customer: CustomerDoc;
	/** Updates sent to this replica and not yet received. */
	inbox: Message[];
	/** Updates already received (candidates for duplicates). */
	readonly received: Uint8Array[];
	group: number;
}

/** Where an op's own writes sit in Yjs: its replica's client id and the clock range it used. */
interface OpPlace {
	readonly client: number;
	readonly clockEnd: number;
	readonly wroteItems: boolean;
}

export interface Outcome {
	readonly sims: readonly Sim[];
	readonly history: readonly ModelOp[];
	/** Ops that deleted entries without advancing their writer's clock: must be none (SPEC DUR-1). */
	readonly silentDeletes: readonly number[];
}

function makeSims(specs: readonly ReplicaSpec[], now: () => number): Sim[] {
	const sims: Sim[] = [];
	specs.forEach((spec, i) => {
		const previous = sims[i - 1];
		const sameUser = spec.sameUserAsPrevious && previous !== undefined;
		const userId = sameUser ? previous.userId : `user${i}`;
		const role = sameUser ? previous.replica.ctx.writer.role : spec.role;
		const base = replica(userId, role, () => now() + spec.skew);
		// replica() names the device after the user; a second device of one user needs its own id.
		const r: Replica = sameUser
			? { doc: base.doc, ctx: { ...base.ctx, writer: { ...base.ctx.writer, deviceId: `device${i}` } } }
			: base;
		sims.push({
			replica: r,
			userId,
			skew: spec.skew,
			materials: new MaterialListDoc(r.doc, JOB_ID, r.ctx),
			job: new JobDoc(r.doc, JOB_ID, r.ctx),
			jobOwner: new JobOwnerDoc(r.doc, JOB_ID, r.ctx),
			privateNotes: new PrivateNotesDoc(r.doc, JOB_ID, userId, r.ctx),
			customer: new CustomerDoc(r.doc, CUSTOMER_ID, r.ctx),
			inbox: [],
			received: [],
			group: 0
		});
	});
	return sims;
}

function stateVector(doc: Y.Doc): Map<number, number> {
	return Y.decodeStateVector(Y.encodeStateVector(doc));
}

/** The newest stamp this replica's writer has in `map`: the one the op just made (HLC-1). */
function ownLatestStamp(map: Y.Map<unknown>, sim: Sim): ModelStamp | undefined {
	const { userId, deviceId } = sim.replica.ctx.writer;
	let best: ModelStamp | undefined;
	for (const value of map.values()) {
		if (typeof value !== 'object' || value === null || value instanceof Y.AbstractType) continue;
		const s = value as ModelStamp;
		if (s.u !== userId || s.d !== deviceId) continue;
		if (!best || s.t > best.t || (s.t === best.t && s.c > best.c))
			best = { t: s.t, c: s.c, u: s.u, d: s.d, r: s.r };
	}
	return best;
}

/** Runs a scenario to its final full sync; returns the replicas and the recorded history. */
export function runScenario(scenario: Scenario): Outcome {
	let now = EPOCH;
	const sims = makeSims(scenario.replicas, () => now);
	sims.forEach((sim, i) => {
		const clientId = scenario.clientIds?.[i];
		if (clientId !== undefined) sim.replica.doc.clientID = clientId;
	});
	const history: ModelOp[] = [];
	const silentDeletes: number[] = [];
	const places: OpPlace[] = [];
	let capturing: Sim | undefined;
	const captured: Uint8Array[] = [];

	for (const sim of sims) {
		sim.replica.doc.on('update', (update: Uint8Array, origin: unknown) => {
			if (origin !== NETWORK && capturing === sim) captured.push(update);
		});
	}

	/** Runs one op on `sim`, sends its update to everyone, and records it for the model. */
	const perform = (sim: Sim, op: OpSpec) => {
		const doc = sim.replica.doc;
		const before = stateVector(doc);
		// Which earlier ops' writes this replica holds: Yjs keeps an update whose predecessors are
		// missing pending, so "received" is not "seen"; the state vector is what is integrated.
		const seen = new Set<number>();
		for (const [id, place] of places.entries()) {
			if (place.wroteItems && (before.get(place.client) ?? 0) >= place.clockEnd) seen.add(id);
		}
		capturing = sim;
		const done = apply(sim, op, history.length, now + sim.skew);
		capturing = undefined;
		if (!done) return;
		const clockEnd = Y.getState(doc.store, doc.clientID);
		const wroteItems = clockEnd > (before.get(doc.clientID) ?? 0);
		// The touch's stamp when the op only deleted (SPEC DUR-1): the newest of its writer, like any.
		const stamp = wroteItems ? ownLatestStamp(done.map, sim) : undefined;
		if (!wroteItems && captured.some(hasDeletes)) silentDeletes.push(history.length);
		places.push({ client: doc.clientID, clockEnd, wroteItems });
		const part =
			done.map === sim.jobOwner.entity.map
				? 'job-owner'
				: done.map === sim.privateNotes.entity.map
					? 'private-notes'
					: undefined;
		history.push({ id: history.length, stamp, seen, effect: done.effect, ...(part ? { doc: part } : {}) });
		const from = sims.indexOf(sim);
		for (const update of captured.splice(0)) {
			for (const other of sims) if (other !== sim) other.inbox.push({ from, update });
		}
	};

	const receive = (sim: Sim, update: Uint8Array) => {
		Y.applyUpdate(sim.replica.doc, update, NETWORK);
		sim.received.push(update);
	};
	const reachable = (sim: Sim) => sim.inbox.filter((m) => sims[m.from]?.group === sim.group);

	perform(at(sims, 0), { type: 'jobSet', fields: { title: 'Roof' } });
	perform(at(sims, 0), { type: 'customerSet', fields: { name: 'Ada' } });
	syncAll(sims.map((s) => s.replica));

	for (const step of scenario.steps) {
		switch (step.s) {
			case 'op': {
				now += step.tick;
				perform(at(sims, step.r), step.op);
				break;
			}
			case 'deliver': {
				const sim = at(sims, step.r);
				const candidates = reachable(sim);
				const message = candidates[step.pick % Math.max(1, candidates.length)];
				if (!message) break;
				if (!step.keep) sim.inbox.splice(sim.inbox.indexOf(message), 1);
				receive(sim, message.update);
				break;
			}
			case 'duplicate': {
				const sim = at(sims, step.r);
				const update = sim.received[step.pick % Math.max(1, sim.received.length)];
				if (update) receive(sim, update);
				break;
			}
			case 'drop': {
				const sim = at(sims, step.r);
				if (sim.inbox.length > 0) sim.inbox.splice(step.pick % sim.inbox.length, 1);
				break;
			}
			case 'partition':
				sims.forEach((sim, i) => {
					sim.group = step.groups[i] ?? 0;
				});
				break;
			case 'heal':
				for (const sim of sims) sim.group = 0;
				break;
			case 'catchUp': {
				const a = at(sims, step.a);
				const b = at(sims, step.b);
				if (a !== b && a.group === b.group) syncAll([a.replica, b.replica]);
				break;
			}
		}
	}
	// Drops and partitions heal: every replica reconnects and catches up with every other.
	syncAll(sims.map((s) => s.replica));
	return { sims, history, silentDeletes };
}

/** Whether an update deletes anything: what a durability acknowledgement cannot see alone. */
function hasDeletes(update: Uint8Array): boolean {
	return Y.decodeUpdate(update).ds.clients.size > 0;
}

function at<T>(items: readonly T[], index: number): T {
	const item = items[index % items.length];
	if (item === undefined) throw new Error('empty list');
	return item;
}

interface Done {
	readonly effect: Effect;
	/** The Y.Map the op wrote into, to read its stamp back. */
	readonly map: Y.Map<unknown>;
}

/** Performs `op` on `sim` through the public crdt API; undefined when it does not apply here. */
function apply(sim: Sim, op: OpSpec, opId: number, wall: number): Done | undefined {
	const { job, jobOwner, customer, materials } = sim;
	const material = (pickIndex: number): Entity | undefined => {
		const ids = materials.ids();
		const id = ids[pickIndex % Math.max(1, ids.length)];
		return id === undefined ? undefined : materials.require(id);
	};
	const ref = (entity: Entity): EntityRef =>
		entity === job.entity || entity === jobOwner.entity || entity === sim.privateNotes.entity
			? 'job'
			: entity === customer.entity
				? 'customer'
				: `material:${entity.id}`;
	const write = (entity: Entity, fields: Record<string, Value>): Done => {
		entity.set(fields);
		return { effect: { kind: 'write', entity: ref(entity), fields }, map: entity.map };
	};
	const note = (entity: Entity, list: 'notes' | 'privateNotes'): Done => {
		const text = `${list} ${opId} by ${sim.replica.ctx.writer.deviceId}`;
		const noteId = list === 'notes' ? entity.appendNote(text) : entity.appendPrivateNote(text);
		const listName = list === 'notes' ? 'notes' : `privateNotes:${sim.userId}`;
		return { effect: { kind: 'append', entity: ref(entity), list: listName, noteId, text }, map: entity.map };
	};
	const mark = (entity: Entity | undefined, pickIndex: number, deleted: boolean): Done | undefined => {
		if (!entity) return undefined;
		const notes = entity.notes();
		const target = notes[pickIndex % Math.max(1, notes.length)];
		if (!target) return undefined;
		entity.setNoteDeleted(target.id, deleted);
		return {
			effect: { kind: 'mark', entity: ref(entity), list: 'notes', noteId: target.id, deleted },
			map: entity.map
		};
	};

	switch (op.type) {
		case 'addMaterial': {
			const fields = { name: op.name, quantity: op.quantity, unit: op.unit };
			const createdAt = wall; // a real device stamps its own (possibly wrong) time
			const entity = materials.add(fields, createdAt);
			const all = { name: op.name, quantity: op.quantity, unit: op.unit, purchased: false, createdAt };
			return { effect: { kind: 'write', entity: `material:${entity.id}`, fields: all }, map: entity.map };
		}
		case 'setMaterial': {
			const entity = material(op.pick);
			return entity && write(entity, { ...op.fields });
		}
		case 'materialNote': {
			const entity = material(op.pick);
			return entity && note(entity, 'notes');
		}
		case 'materialNoteMark':
			return mark(material(op.pick), op.note, op.deleted);
		case 'materialDeleted': {
			const entity = material(op.pick);
			return entity && write(entity, { deleted: op.deleted });
		}
		case 'jobSet': {
			const fields: Record<string, Value> = { ...op.fields };
			if (Object.keys(fields).length === 0) return undefined;
			if (!job.exists()) fields.createdAt = EPOCH;
			return write(job.entity, fields);
		}
		case 'jobAddMember':
			job.entity.addMember(op.member);
			return { effect: { kind: 'addMember', member: op.member }, map: job.entity.map };
		case 'jobRemoveMember':
			job.entity.removeMember(op.member);
			return { effect: { kind: 'removeMember', member: op.member }, map: job.entity.map };
		case 'jobReplaceMembers': {
			const before = new Set(job.entity.map.keys());
			job.entity.replaceMembers(op.members);
			// Which adds the replace wrote is read back from the document: it depends on what this
			// replica showed, which the model does not try to predict.
			const added = [...job.entity.map.keys()]
				.filter((k) => !before.has(k) && k.startsWith('assignedTo|'))
				.map((k) => k.split('|')[1] as string);
			return {
				effect: { kind: 'replaceMembers', members: [...op.members], added },
				map: job.entity.map
			};
		}
		case 'jobHours':
			job.entity.addToCounter(op.quarters / 4);
			return { effect: { kind: 'count', amount: op.quarters / 4 }, map: job.entity.map };
		case 'jobNote':
			return note(job.entity, 'notes');
		case 'jobNoteMark':
			return mark(job.entity, op.note, op.deleted);
		case 'jobPrivateNote':
			return note(sim.privateNotes.entity, 'privateNotes');
		case 'jobPrice':
			// Price is the owner's alone (SPEC AUD-1): workers never open the document that holds it.
			if (sim.replica.ctx.writer.role !== 'OWNER') return undefined;
			return write(jobOwner.entity, { price: op.price });
		case 'jobDeleted':
			return write(job.entity, { deleted: op.deleted });
		case 'customerSet': {
			const fields: Record<string, Value> = { ...op.fields };
			if (!customer.exists()) fields.createdAt = EPOCH;
			return write(customer.entity, fields);
		}
		case 'customerNote':
			return note(customer.entity, 'notes');
		case 'customerNoteMark':
			return mark(customer.entity, op.note, op.deleted);
		case 'customerDeleted':
			return write(customer.entity, { deleted: op.deleted });
	}
}

// ---------------------------------------------------------------------------------------------
// What is compared

/** Everything a replica serves, as plain JSON: must be identical on every replica (CONV-1). */
export function snapshot(sim: Sim, userIds: readonly string[]): unknown {
	return {
		materials: sim.materials.list(),
		materialConflicts: sim.materials.conflicts(),
		job: jobJson(sim),
		jobConflicts: [...sim.job.conflicts(), ...sim.jobOwner.conflicts()],
		customer: sim.customer.read(),
		customerConflicts: sim.customer.conflicts(),
		hoursByUser: Object.fromEntries([...sim.job.entity.counterByUser()].sort()),
		privateNotes: Object.fromEntries(userIds.map((u) => [u, sim.privateNotes.entity.privateNotes(u)]))
	};
}

/** The job entity as the projection serves it to an owner: the crew part and the owner part merged. */
function jobJson(sim: Sim): unknown {
	const shared = sim.job.read();
	if (!shared) return undefined;
	const updatedAt = Math.max(Number(shared.updatedAt), sim.jobOwner.entity.updatedAt());
	return { ...shared, ...sim.jobOwner.read(), updatedAt };
}

/** The same as `snapshot`, projected to what the model computes (CONV-2). */
export function observed(sim: Sim, userIds: readonly string[]): unknown {
	const conflicts = [
		...sim.materials.conflicts(),
		...sim.job.conflicts(),
		...sim.jobOwner.conflicts(),
		...sim.customer.conflicts()
	].map((c) => ({
		entityId: c.entityId,
		field: c.field,
		value: c.value,
		values: c.values,
		needsChoice: c.needsChoice
	}));
	return {
		materials: sim.materials.list(),
		job: jobJson(sim),
		customer: sim.customer.read(),
		conflicts: sortConflicts(conflicts),
		hoursByUser: Object.fromEntries([...sim.job.entity.counterByUser()]),
		privateNotes: Object.fromEntries(
			userIds.map((u) => [
				u,
				sim.privateNotes.entity.privateNotes(u).map((n) => ({ id: n.id, text: n.text, deleted: n.deleted }))
			])
		)
	};
}

export function expected(history: readonly ModelOp[], userIds: readonly string[]): unknown {
	const materialIds = new Set<string>();
	for (const op of history) {
		if (op.effect.kind === 'write' && op.effect.entity.startsWith('material:')) {
			materialIds.add(op.effect.entity.slice('material:'.length));
		}
	}
	const materials = [...materialIds].map((id) => modelEntity('material', id, `material:${id}`, history));
	const job = modelEntity('job', JOB_ID, 'job', history);
	const customer = modelEntity('customer', CUSTOMER_ID, 'customer', history);
	const list = materials
		.map((m): Record<string, unknown> => ({ ...m.json, jobId: JOB_ID }))
		.sort((a, b) => Number(a.createdAt) - Number(b.createdAt) || (String(a.id) < String(b.id) ? -1 : 1));
	return {
		materials: list,
		job: job.json,
		customer: customer.json,
		conflicts: sortConflicts([...materials, job, customer].flatMap((e: ModelEntity) => e.conflicts)),
		hoursByUser: job.hoursByUser,
		privateNotes: Object.fromEntries(userIds.map((u) => [u, job.notes.get(`privateNotes:${u}`) ?? []]))
	};
}

function sortConflicts<C extends { entityId: string; field: string }>(conflicts: C[]): C[] {
	return conflicts.sort((a, b) =>
		a.entityId === b.entityId ? (a.field < b.field ? -1 : 1) : a.entityId < b.entityId ? -1 : 1
	);
}

export function userIdsOf(outcome: Outcome): string[] {
	return [...new Set(outcome.sims.map((s) => s.userId))].sort();
}

/** The seed for a property run: `FC_SEED` to replay, else a fresh one. Printed either way. */
export function propertySeed(name: string): number {
	const fromEnv = process.env.FC_SEED;
	const seed = fromEnv ? Number(fromEnv) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
	console.log(`${name}: fast-check seed ${seed} (replay with FC_SEED=${seed})`);
	return seed;
}

/** Runs a scenario and checks CONV-1 and CONV-2 on it: how regression tests replay a counterexample. */
export function checkScenario(scenario: Scenario, check: (actual: unknown, wanted: unknown) => void): void {
	const outcome = runScenario(scenario);
	const users = userIdsOf(outcome);
	const [first, ...rest] = outcome.sims;
	if (!first) throw new Error('no replica');
	for (const other of rest) check(snapshot(other, users), snapshot(first, users));
	check(observed(first, users), expected(outcome.history, users));
	check(causalityViolations(outcome.history), []);
	check(outcome.silentDeletes, []);
}
