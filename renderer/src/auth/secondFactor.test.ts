import { describe, expect, it } from 'vitest';
import { readAccountState } from './accountRoutes.ts';
import { codeInput, methodsDefaultFirst, parseChallenge, secondFactorCodeSchema } from './secondFactor.ts';

describe('parseChallenge', () => {
  it('reads the challenge the sign-in screen passed on', () => {
    const challenge = {
      status: 'mfa_required',
      challengeId: 'c1',
      methods: ['passkey', 'sms', 'backup_code'],
      defaultMethod: 'sms',
      reasons: ['New sign-in from Chrome 156 on Linux'],
      phone: '+44*******123',
      smsSent: true,
    };
    expect(parseChallenge(challenge)).toEqual(challenge);
  });

  it('drops methods it does not know and falls back to the first known one', () => {
    expect(
      parseChallenge({
        status: 'mfa_required',
        challengeId: 'c1',
        methods: ['carrier_pigeon', 'email'],
        defaultMethod: 'carrier_pigeon',
      }),
    ).toEqual({
      status: 'mfa_required',
      challengeId: 'c1',
      methods: ['email'],
      defaultMethod: 'email',
      reasons: [],
      phone: null,
      smsSent: false,
    });
  });

  it('refuses anything that is not a usable challenge', () => {
    expect(parseChallenge(undefined)).toBeNull();
    expect(parseChallenge({ status: 'mfa_required', challengeId: '', methods: ['email'] })).toBeNull();
    expect(parseChallenge({ status: 'mfa_required', challengeId: 'c1', methods: [] })).toBeNull();
  });
});

describe('secondFactorCodeSchema', () => {
  it('takes six digits by email or from an app (which shows them as "123 456")', () => {
    expect(secondFactorCodeSchema('email').parse(' 123456 ')).toBe('123456');
    expect(secondFactorCodeSchema('totp').parse('123 456')).toBe('123456');
    expect(secondFactorCodeSchema('totp').safeParse('12345').error?.issues[0]?.message).toBe(
      'Enter the 6-digit code from your authenticator app.',
    );
  });

  it('normalises backup codes as the server does, and refuses what cannot be one', () => {
    expect(secondFactorCodeSchema('backup_code').parse('ABCD 2345')).toBe('abcd-2345');
    expect(secondFactorCodeSchema('backup_code').safeParse('  ').success).toBe(false);
  });
});

describe('methodsDefaultFirst', () => {
  it('puts the default first and keeps the rest in the server order', () => {
    expect(methodsDefaultFirst({ methods: ['totp', 'email', 'backup_code'], defaultMethod: 'backup_code' })).toEqual([
      'backup_code',
      'totp',
      'email',
    ]);
  });
});

describe('codeInput', () => {
  it('builds the discriminated input the server takes', () => {
    expect(codeInput('totp', '123456')).toEqual({ method: 'totp', code: '123456' });
  });
});

describe('readAccountState', () => {
  it('keeps what one account screen handed the next, and nothing malformed', () => {
    expect(readAccountState({ email: 'ada@example.com', codeSentAt: 5, why: 'signed_up' })).toEqual({
      email: 'ada@example.com',
      codeSentAt: 5,
      why: 'signed_up',
    });
    expect(readAccountState({ email: 42, codeSentAt: 'soon', why: 'because', notice: 'hello' })).toEqual({});
    expect(readAccountState(null)).toEqual({});
  });
});
