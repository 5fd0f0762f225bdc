/** Why a CRDT call refused to write. Nothing is written when one of these is thrown. */
export type CrdtErrorCode =
	| 'unknown_field'
	| 'invalid_value'
	| 'wrong_field_kind'
	| 'unknown_entity'
	| 'duplicate_entity'
	| 'unknown_note';

export class CrdtError extends Error {
	override readonly name = 'CrdtError';
	constructor(
		readonly code: CrdtErrorCode,
		message: string,
		readonly field?: string
	) {
		super(message);
	}
}
