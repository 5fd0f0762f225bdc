/**
 * What a focused text field owes the document. The draft is what the person typed; it is sent at
 * most once per change (a pause, Enter, leaving the field, or the field going away), and never when
 * nothing was typed since the last send.
 *
 * Why "once": a field that stays focused after Enter used to send its draft again on blur. When a
 * concurrent value had arrived meanwhile (the field turned into a conflict choice, which removes the
 * focused input and so blurs it), that second send was a new register write over both values: the
 * other device's number vanished without a conflict (e2e test 5 caught it, about one run in three
 * under load).
 */
export class FieldDraft {
	/** The text typed since focus; meaningful only while `touched`. */
	text = $state('');
	/** Typed in since focus: the field shows `text`, not the document's value. */
	touched = $state(false);
	/** Typed in since the last send. */
	#unsent = false;

	/** Focus: start from the document's value, nothing typed yet. */
	focus(value: string): void {
		this.text = value;
		this.touched = false;
		this.#unsent = false;
	}

	input(text: string): void {
		this.text = text;
		this.touched = true;
		this.#unsent = true;
	}

	/** What to write now, if anything: the draft when it was typed since the last send and differs from `value`. */
	take(value: string): string | undefined {
		if (!this.#unsent) return undefined;
		this.#unsent = false;
		return this.text === value ? undefined : this.text;
	}

	/** Blur: the field shows the document's value again. */
	blur(): void {
		this.touched = false;
	}
}
