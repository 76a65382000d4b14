import { describe, expect, it } from 'vitest';
import {
  asksForPassword,
  backupCodesFile,
  groupSecret,
  isStepUpRequired,
  shownError,
  StepUpCancelled,
  svgDataUrl,
  webAuthnFailure,
} from './twoStep.ts';

const serverError = (appCode: string, fieldErrors?: Record<string, string[]>) => ({
  name: 'TRPCClientError',
  message: 'x',
  data: { appCode, fieldErrors },
});

describe('what a refusal asks for', () => {
  it('recognises step-up and the password request', () => {
    expect(isStepUpRequired(serverError('STEP_UP_REQUIRED'))).toBe(true);
    expect(isStepUpRequired(serverError('FORBIDDEN'))).toBe(false);
    expect(isStepUpRequired(new Error('boom'))).toBe(false);
    expect(asksForPassword(serverError('VALIDATION_FAILED', { currentPassword: ['Enter your password'] }))).toBe(true);
    expect(asksForPassword(serverError('VALIDATION_FAILED', { code: ['nope'] }))).toBe(false);
    expect(asksForPassword(null)).toBe(false);
  });

  it('does not show a cancelled step-up as an error', () => {
    expect(shownError(new StepUpCancelled())).toBeNull();
    const other = new Error('x');
    expect(shownError(other)).toBe(other);
  });
});

describe('svgDataUrl', () => {
  it('encodes the SVG so nothing in it can break out of the URL', () => {
    const url = svgDataUrl('<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0h1"/></svg>#"');
    expect(url.startsWith('data:image/svg+xml;charset=utf-8,%3Csvg')).toBe(true);
    expect(url).not.toMatch(/[<>"#\s]/);
    expect(decodeURIComponent(url.slice(url.indexOf(',') + 1))).toContain('<path d="M0 0h1"/>');
  });
});

describe('groupSecret', () => {
  it('groups a base32 secret by four', () => {
    expect(groupSecret('JBSWY3DPEHPK3PXPJB')).toBe('JBSW Y3DP EHPK 3PXP JB');
    expect(groupSecret('')).toBe('');
  });
});

describe('backupCodesFile', () => {
  it('lists every code, numbered, between the title and the note', () => {
    const text = backupCodesFile(['abcd-2345', 'efgh-6789'], {
      title: 'MegiLance backup codes',
      generated: 'Made on 1 Jan 2027',
      note: 'Each code works once.',
    });
    expect(text.split('\n')).toEqual([
      'MegiLance backup codes',
      'Made on 1 Jan 2027',
      '',
      ' 1. abcd-2345',
      ' 2. efgh-6789',
      '',
      'Each code works once.',
      '',
    ]);
  });
});

describe('webAuthnFailure', () => {
  const named = (name: string, code?: string) => Object.assign(new Error('x'), { name, code });
  it('tells cancelling from an authenticator that already has a passkey here', () => {
    expect(webAuthnFailure(named('NotAllowedError'))).toBe('cancelled');
    expect(webAuthnFailure(named('InvalidStateError', 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED'))).toBe(
      'already_registered',
    );
    expect(webAuthnFailure(named('NotSupportedError'))).toBe('unsupported');
    expect(webAuthnFailure(named('WebAuthnError', 'ERROR_INVALID_RP_ID'))).toBe('failed');
  });

  it('leaves server answers to describeError', () => {
    expect(webAuthnFailure(serverError('STEP_UP_REQUIRED'))).toBeNull();
    expect(webAuthnFailure('nope')).toBeNull();
  });
});
