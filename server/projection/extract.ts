import * as Y from 'yjs';
import {
	CustomerDoc,
	compareStamps,
	type Entity,
	type EntityJson,
	type EntityName,
	HybridClock,
	isStamp,
	JobDoc,
	JobOwnerDoc,
	MaterialListDoc,
	mapIndex,
	parseDocName,
	type Stamp,
	stateVectorSeenBy,
	type WriteContext
} from '../../crdt/index.ts';

/** One entity as the projection writes it: docs/rest-api.md "Entities" JSON plus who wrote last. */
export interface ProjectedEntity {
	entity: EntityName;
	id: string;
	data: EntityJson;
	/** User id and role of the latest write in the entity (changedBy; ROLE_BASED's server role). */
	changedBy: string | null;
	changedByRole: string | null;
	/** material: its job; job: its own id. */
	jobId: string | null;
	/** job: its customer. */
	customerId: string | null;
	/**
	 * What an operation based on this version has seen (docs/rest-api.md "Versions"), encoded like
	 * `Y.encodeStateVector`: the clocks of the clients that wrote the entity's live entries
	 * (crdt `stateVectorSeenBy`), not the whole document's, which grows with every app session.
	 */
	stateVector: Uint8Array;
	/**
	 * `owner`: the owner-only part of a job (`job-owner:` document; its `data` holds those fields and
	 * `updatedAt`), merged into the job's row by the projection (SPEC AUD-2). Absent: a whole entity.
	 */
	part?: 'owner';
}

/** Reading needs no writer; views still require a context. */
const READ_ONLY: WriteContext = {
	writer: { userId: 'projection', deviceId: 'server', role: 'WORKER' },
	clock: new HybridClock()
};

/**
 * The entities a document holds, read through the crdt/ views (so REST, pull and checksums serve
 * exactly what CRDT clients compute). Pure and synchronous: each entity's JSON and state vector are
 * read in the same tick, so they describe the same document state.
 */
export function extractEntities(
	docName: string,
	doc: Y.Doc,
	/** materials: read only these (the ones whose maps changed since the last pass); all when absent. */
	onlyIds?: Iterable<string>
): ProjectedEntity[] {
	const ref = parseDocName(docName);
	// Private notes are their author's alone: never projected, never served over REST (SPEC AUD-1).
	if (!ref || ref.kind === 'private-notes') return [];
	if (ref.kind === 'job-owner') {
		const part = new JobOwnerDoc(doc, ref.id, READ_ONLY);
		if (part.isEmpty()) return [];
		const data = { ...part.read(), updatedAt: part.entity.updatedAt() };
		return [{ ...project('job', part.entity, data, ref.id, null), part: 'owner' }];
	}
	if (ref.kind === 'materials') {
		const list = new MaterialListDoc(doc, ref.id, READ_ONLY);
		return [...(onlyIds ?? list.ids())].flatMap((id) => {
			const entity = list.get(id);
			const data = list.read(id);
			if (!entity || !data || !hasCreatedAt(entity)) return [];
			return [project('material', entity, data, ref.id, null)];
		});
	}
	const view =
		ref.kind === 'job' ? new JobDoc(doc, ref.id, READ_ONLY) : new CustomerDoc(doc, ref.id, READ_ONLY);
	const data = view.read();
	if (!data) return [];
	if (ref.kind === 'job') {
		const customerId = typeof data.customerId === 'string' ? data.customerId : null;
		return [project('job', view.entity, data, ref.id, customerId)];
	}
	return [project('customer', view.entity, data, null, null)];
}

function hasCreatedAt(entity: Entity): boolean {
	return entity.field('createdAt').entries.length > 0;
}

function project(
	entity: ProjectedEntity['entity'],
	view: Entity,
	data: EntityJson,
	jobId: string | null,
	customerId: string | null
): ProjectedEntity {
	const last = latestStamp(view.map);
	return {
		entity,
		id: view.id,
		data,
		changedBy: last?.u ?? null,
		changedByRole: last?.r ?? null,
		jobId,
		customerId,
		stateVector: Y.encodeStateVector(stateVectorSeenBy(view.map))
	};
}

function latestStamp(map: Y.Map<unknown>): Stamp | undefined {
	let best: Stamp | undefined;
	// The map's live values as the read just indexed them (crdt/map-index.ts): no iteration of the Y.Map.
	for (const value of mapIndex(map).values)
		if (isStamp(value) && (!best || compareStamps(value, best) > 0)) best = value;
	return best;
}
