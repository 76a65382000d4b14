import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { errorCatalogue, type AppErrorCode, type AppErrorData } from '../../../shared/errors.ts';
import { createI18n } from '../i18n/i18n.ts';
import { describeError, fieldError, type ErrorMessageKey } from './describeError.ts';

const { t } = createI18n('en');
const translate = (key: ErrorMessageKey) => t(key);

/** An error as the tRPC client raises it from a server answer. */
function serverError(message: string, data: Partial<AppErrorData> & { appCode: AppErrorCode }) {
  return TRPCClientError.from({
    error: {
      message,
      code: -32600,
      data: { fieldErrors: null, details: null, httpStatus: errorCatalogue[data.appCode].http, ...data },
    },
  });
}

describe('describeError', () => {
  it('shows the catalogue message for a code, from the string files', () => {
    const description = describeError(
      serverError(errorCatalogue.RATE_LIMITED.message, { appCode: 'RATE_LIMITED' }),
      translate,
    );
    expect(description.kind).toBe('RATE_LIMITED');
    expect(description.message).toBe('Too many attempts. Wait a moment and try again.');
  });

  it('keeps a more specific message the server chose', () => {
    const description = describeError(
      serverError('That milestone is already funded.', { appCode: 'PRECONDITION_FAILED' }),
      translate,
    );
    expect(description.message).toBe('That milestone is already funded.');
  });

  it('hands field errors to forms, first message per field', () => {
    const description = describeError(
      serverError(errorCatalogue.VALIDATION_FAILED.message, {
        appCode: 'VALIDATION_FAILED',
        fieldErrors: { 'budget.amount': ['Must be positive', 'Too many decimals'], '': ['Fill in a title or a skill'] },
      }),
      translate,
    );
    expect(description.message).toBe('Some fields are not valid. Check the highlighted fields and try again.');
    expect(fieldError(description, 'budget.amount')).toBe('Must be positive');
    expect(fieldError(description, '')).toBe('Fill in a title or a skill');
    expect(fieldError(description, 'title')).toBeUndefined();
    expect(fieldError(null, 'title')).toBeUndefined();
  });

  it('passes on details such as how long to wait', () => {
    const description = describeError(
      serverError(errorCatalogue.STEP_UP_REQUIRED.message, {
        appCode: 'STEP_UP_REQUIRED',
        details: { windowMinutes: 10 },
      }),
      translate,
    );
    expect(description.details).toEqual({ windowMinutes: 10 });
  });

  it('calls a request that never reached the server a network problem', () => {
    const offline = TRPCClientError.from(new TypeError('Failed to fetch'));
    expect(describeError(offline, translate)).toMatchObject({
      kind: 'network',
      message: 'Cannot reach the server. Check your connection and try again.',
    });
    expect(describeError(new TypeError('Failed to fetch'), translate).kind).toBe('network');
  });

  it('never shows the text of an unexpected error', () => {
    const description = describeError(new Error('Cannot read properties of undefined (reading "x")'), translate);
    expect(description).toEqual({
      kind: 'unknown',
      message: 'Something went wrong. Try again.',
      fieldErrors: {},
      details: {},
    });
    expect(describeError('boom', translate).kind).toBe('unknown');
  });

  it('has a translation for every code in the catalogue', () => {
    for (const code of Object.keys(errorCatalogue) as AppErrorCode[]) {
      expect(t(`errors.${code}`)).toBe(errorCatalogue[code].message);
    }
  });
});
