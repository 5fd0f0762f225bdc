import { fieldWords } from '$crdt/schema.ts';

/**
 * What the app says when the server undid one of this person's changes, in words a crew member
 * reads on a roof: never a field name, a resolver or a storage term. The server's own sentence is
 * used only when it is already written for people ("Your change to the price was undone: …");
 * anything else is replaced by the plain sentence for the field, or a general one. The field is
 * named by the schema's `label` (crdt/schema.ts), except where this notice says it otherwise.
 */
const WHAT_HERE: Readonly<Record<string, string>> = {
	// Not a field, or one nobody edits: the change is to "this" thing as a whole.
	id: 'this',
	createdAt: 'this',
	// Said to their author: the schema's "private notes" are this person's own.
	privateNotes: 'your own notes'
};

function what(field: string | null): string {
	if (!field) return 'this';
	return (Object.hasOwn(WHAT_HERE, field) ? WHAT_HERE[field] : fieldWords(field).label) ?? 'this';
}

/** Why, per field, when the server's sentence is not for people. */
const WHY: Readonly<Record<string, string>> = {
	notes: 'notes can be hidden, never erased.',
	privateNotes: 'only you can write your own notes.',
	hoursLogged: 'logged hours are corrected with a new entry, never erased.'
};

/** A sentence is "for people" when it is the server's worded "Your change to … was undone: …". */
const PEOPLE_SENTENCE = /^Your change to [a-z ]+ was undone: [a-z ,.'’]+$/i;

export function rejectedNotice(field: string | null, serverMessage: string | null): string {
	if (
		serverMessage &&
		PEOPLE_SENTENCE.test(serverMessage) &&
		!/tombstone|entr(y|ies)|stamp|map\b/i.test(serverMessage)
	) {
		return serverMessage;
	}
	if (field === 'deleted')
		return 'This was put back: things are removed with Delete, so they can be restored.';
	const why = (field && WHY[field]) || 'you are not allowed to make it.';
	return `Your change to ${what(field)} was undone: ${why}`;
}
