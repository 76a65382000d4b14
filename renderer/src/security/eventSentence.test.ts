import { describe, expect, it } from 'vitest';
import { securityEventKinds } from '../../../shared/security-events.ts';
import { createI18n } from '../i18n/i18n.ts';
import { securityEventSentence } from './eventSentence.ts';

const { t, exists } = createI18n('en');
const say = (kind: (typeof securityEventKinds)[number], detail: Record<string, string | null> = {}) => {
  const sentence = securityEventSentence({ kind, detail });
  return { text: t(sentence.key), note: sentence.note, place: sentence.place };
};

describe('securityEventSentence', () => {
  it('has a sentence for every kind of event the server records', () => {
    for (const kind of securityEventKinds) {
      const { key } = securityEventSentence({ kind, detail: {} });
      expect(exists(key), kind).toBe(true);
    }
  });

  it('says how someone signed in', () => {
    expect(say('signed_in', { method: 'password' }).text).toBe('Signed in with your password');
    expect(say('signed_in', { method: 'email_code' }).text).toBe('Signed in by confirming your email');
    expect(say('signed_in', { method: 'totp' }).text).toBe('Signed in with your password and your authenticator app');
    expect(say('signed_in', { method: 'something new' }).text).toBe('Signed in');
  });

  it('says why a device was signed out, in words about the user', () => {
    expect(say('session_revoked', { reason: 'revoked_by_user' }).text).toBe('You signed out a device');
    expect(say('session_revoked', { reason: 'password_changed' }).text).toBe(
      'A device was signed out because your password changed',
    );
    expect(say('signed_out').text).toBe('Signed out');
    expect(say('refresh_token_reuse').text).toBe('A sign-in was ended because its credentials were used twice');
  });

  it('reads the old and new spellings of a failed sign-in', () => {
    expect(say('sign_in_failed', { reason: 'password' }).text).toBe('Failed sign-in attempt: wrong password');
    expect(say('sign_in_failed', { reason: 'wrong password' }).text).toBe('Failed sign-in attempt: wrong password');
  });

  it("brings along the server's own sentences for the user, and the place", () => {
    const blocked = say('sign_in_blocked', {
      reasons: 'Sign-in from a known anonymising network.',
      place: 'Lahore, PK',
    });
    expect(blocked).toEqual({
      text: 'Sign-in blocked to protect your account',
      note: 'Sign-in from a known anonymising network.',
      place: 'Lahore, PK',
    });
    expect(say('new_device', { message: 'New sign-in from Chrome 156 on Linux' }).note).toBe(
      'New sign-in from Chrome 156 on Linux',
    );
    // Internal detail (who revoked, scores) is never shown as a note.
    expect(say('session_revoked', { reason: 'revoked_by_user', by: 'session-9' }).note).toBeNull();
  });
});
