/**
 * The durability acknowledgement lives in `wire/durability.ts`, the one definition the server and
 * the browser share. This path only re-exports it for callers not yet moved (tests/bench).
 */
export * from '../../wire/durability.ts';
