/**
 * Form checks with the server's own zod schemas (shared/accounts.ts), so a
 * user sees the server's rule beside the field before anything is sent. The
 * messages are the schemas' (the same sentences the server would answer).
 */
import type { z } from 'zod';
import type { FieldErrors } from '../../../shared/errors.ts';

export type FormCheck<T> = { ok: true; data: T; fieldErrors: FieldErrors } | { ok: false; fieldErrors: FieldErrors };

export function checkForm<S extends z.ZodType>(schema: S, values: unknown): FormCheck<z.output<S>> {
  const result = schema.safeParse(values);
  if (result.success) return { ok: true, data: result.data, fieldErrors: {} };
  const fieldErrors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const path = issue.path.map(String).join('.');
    (fieldErrors[path] ??= []).push(issue.message);
  }
  return { ok: false, fieldErrors };
}
