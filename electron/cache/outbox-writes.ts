/**
 * The writes the outbox may queue: one entry per procedure, with the
 * procedure's input schema from shared/ (the same one the server parses
 * with), which entity it changes, and whether it takes a base version.
 * `Outbox.enqueue` parses every write with its entry before it is stored, so
 * a write the server would refuse for its shape is refused at once, not
 * discovered on replay.
 *
 * Main-process only (classic zod and shared/ schemas); the worker sees the
 * checked result.
 */
import type { z } from 'zod';
import { removeDraftInput, saveDraftInput } from '../../shared/drafts.ts';
import type { EntityRef } from './kinds.ts';

export interface OutboxWriteDefinition<S extends z.ZodType<Record<string, unknown>>> {
  /** The procedure's input without `idempotencyKey` and `baseVersion` (the outbox adds them). */
  input: S;
  entity: (input: z.output<S>) => EntityRef;
  /** Whether the procedure takes `baseVersion`, and must be given one. */
  baseVersion: 'required' | 'optional';
}

const defineWrite = <S extends z.ZodType<Record<string, unknown>>>(definition: OutboxWriteDefinition<S>) => definition;

/**
 * The writes that can be made offline. A procedure listed here must accept
 * `idempotencyKey` (and `baseVersion`, as declared) and answer with an object
 * whose numeric `version` is the entity's new version.
 */
export const outboxWrites = {
  'drafts.save': defineWrite({
    input: saveDraftInput.omit({ baseVersion: true, idempotencyKey: true }),
    entity: (input) => ({ kind: 'draft', id: input.id }),
    baseVersion: 'required',
  }),
  'drafts.remove': defineWrite({
    input: removeDraftInput.omit({ baseVersion: true, idempotencyKey: true }),
    entity: (input) => ({ kind: 'draft', id: input.id }),
    baseVersion: 'optional',
  }),
};

export type OutboxProcedure = keyof typeof outboxWrites;
export type OutboxWriteInput<P extends OutboxProcedure> = z.input<(typeof outboxWrites)[P]['input']>;

export function isOutboxProcedure(name: string): name is OutboxProcedure {
  return Object.hasOwn(outboxWrites, name);
}
