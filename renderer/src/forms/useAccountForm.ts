/**
 * State for a form checked with a shared zod schema: the values (kept
 * through errors, so nothing typed is lost), the schema's messages once the
 * user has tried to submit, the server's field errors until that field is
 * edited, and focus on the first field in trouble.
 */
import { useCallback, useEffect, useEffectEvent, useMemo, useState, type FormEvent } from 'react';
import type { z } from 'zod';
import { fieldError, type ErrorDescription } from '../errors/describeError.ts';
import { useDescribeError } from '../errors/ErrorNotice.tsx';
import { checkForm } from './validation.ts';

export interface AccountForm<K extends string, T> {
  values: Record<K, string>;
  set: (name: K) => (value: string) => void;
  /** The message to show beside a field, if any. */
  errorFor: (name: K) => string | undefined;
  /** The server's answer, described (null when there is none). */
  serverError: ErrorDescription | null;
  /** A submit handler: checks, then calls `onValid` with the schema's output. */
  handleSubmit: (onValid: (data: T) => void) => (event: FormEvent<HTMLFormElement>) => void;
  reset: (values?: Partial<Record<K, string>>) => void;
  fieldId: (name: K) => string;
}

export function useAccountForm<K extends string, S extends z.ZodType>(options: {
  formId: string;
  schema: S;
  initial: Record<K, string>;
  /** The failed mutation's error, or null. */
  error: unknown;
}): AccountForm<K, z.output<S>> {
  const { formId, schema, initial, error } = options;
  const describe = useDescribeError();
  const [values, setValues] = useState(initial);
  const [attempted, setAttempted] = useState(false);
  const [focusRequest, setFocusRequest] = useState(0);
  // Fields edited since the server's last answer: its complaint about them is stale.
  const [edited, setEdited] = useState<{ error: unknown; fields: ReadonlySet<string> }>({
    error: null,
    fields: new Set(),
  });
  const serverError = useMemo(
    () => (error === null || error === undefined ? null : describe(error)),
    [error, describe],
  );
  const clientErrors = useMemo(
    () => (attempted ? checkForm(schema, values).fieldErrors : {}),
    [attempted, schema, values],
  );
  const fieldOrder = useMemo(() => Object.keys(initial) as K[], [initial]);
  const fieldId = useCallback((name: K) => `${formId}-${name}`, [formId]);

  const errorFor = (name: K): string | undefined => {
    const local = clientErrors[name]?.[0];
    if (local !== undefined) return local;
    const stale = edited.error === error && edited.fields.has(name);
    return stale ? undefined : fieldError(serverError, name);
  };

  const set = (name: K) => (value: string) => {
    setValues((previous) => ({ ...previous, [name]: value }));
    setEdited((previous) => ({
      error,
      fields: new Set([...(previous.error === error ? previous.fields : []), name]),
    }));
  };

  // After a refused submit or a server answer with field errors, focus the first field in trouble.
  const focusFirst = useEffectEvent((source: 'form' | 'server') => {
    const problems = source === 'form' ? clientErrors : (serverError?.fieldErrors ?? {});
    const first = fieldOrder.find((name) => problems[name] !== undefined);
    if (first !== undefined) document.getElementById(fieldId(first))?.focus();
  });
  useEffect(() => {
    if (focusRequest > 0) focusFirst('form');
  }, [focusRequest]);
  useEffect(() => {
    if (serverError !== null) focusFirst('server');
  }, [serverError]);

  const handleSubmit = (onValid: (data: z.output<S>) => void) => (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setAttempted(true);
    const checked = checkForm(schema, values);
    if (!checked.ok) {
      setFocusRequest((n) => n + 1);
      return;
    }
    onValid(checked.data);
  };

  const reset = (next: Partial<Record<K, string>> = {}) => {
    setValues({ ...initial, ...next });
    setAttempted(false);
  };

  return { values, set, errorFor, serverError, handleSubmit, reset, fieldId };
}
