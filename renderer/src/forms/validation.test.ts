import { describe, expect, it } from 'vitest';
import { changePasswordInput, signUpInput, verifyEmailInput } from '../../../shared/accounts.ts';
import { checkForm } from './validation.ts';

describe('checkForm with the server schemas', () => {
  it('gives each field the message the server would answer with', () => {
    const check = checkForm(signUpInput.pick({ displayName: true, email: true, password: true }), {
      displayName: ' ',
      email: 'ada@',
      password: 'short',
    });
    expect(check.ok).toBe(false);
    expect(check.fieldErrors).toEqual({
      displayName: ['Enter your name.'],
      email: ['Enter a valid email address, like name@example.com.'],
      password: ['Use at least 12 characters.'],
    });
  });

  it("passes on the schema's output (trimmed) when everything is valid", () => {
    const check = checkForm(verifyEmailInput, { email: '  ada@example.com ', code: ' 123456 ' });
    expect(check).toEqual({ ok: true, data: { email: 'ada@example.com', code: '123456' }, fieldErrors: {} });
  });

  it('checks a new password but not the length of the current one', () => {
    const check = checkForm(changePasswordInput, { currentPassword: 'old', newPassword: ' '.repeat(12) });
    expect(check.fieldErrors).toEqual({ newPassword: ['A password cannot be only spaces.'] });
  });
});
