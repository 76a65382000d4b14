/**
 * SMS codes as a second factor, over real HTTP: texts go through Twilio's
 * wire format to a loopback server that speaks it (tests/support/twilio.ts),
 * mail through a real SMTP server on loopback. Also the two other ways a
 * server can be set up: the dev outbox, and no SMS at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, mailedCode, mailTo, refusalOf } from '../../tests/support/api.ts';
import { startTestServer, type TestServer } from '../../tests/support/server.ts';
import { startTestSmtpServer, type TestSmtpServer } from '../../tests/support/smtp.ts';
import { startTestTwilioServer, type TestTwilioServer } from '../../tests/support/twilio.ts';
import { MailOutbox } from '../delivery/mail.ts';

const PASSWORD = 'correct horse battery staple';

let smtp: TestSmtpServer;
let twilio: TestTwilioServer;
let server: TestServer;

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  twilio = await startTestTwilioServer();
  server = await startTestServer({
    ...mailTo(smtp),
    SMS_TWILIO_ACCOUNT_SID: twilio.accountSid,
    SMS_TWILIO_AUTH_TOKEN: twilio.authToken,
    SMS_TWILIO_FROM: twilio.fromNumbers[0]!,
    SMS_TWILIO_BASE_URL: twilio.baseUrl,
    SMS_MIN_INTERVAL_SECONDS: '0',
    SMS_MAX_PER_HOUR: '4',
  });
});
afterAll(async () => {
  await server?.dispose();
  await twilio?.close();
  await smtp?.close();
});

let counter = 0;
let phoneCounter = 100;

async function newUser(target: TestServer = server) {
  const email = `sms${++counter}-${Date.now()}@example.com`;
  const anonymous = apiClient(target.url);
  await anonymous.auth.signUp.mutate({ email, password: PASSWORD, displayName: `Sms ${counter}` });
  const tokens = await anonymous.auth.verifyEmail.mutate({
    email,
    code: await mailedCode(smtp, email, /Confirm your email/),
  });
  return { email, api: apiClient(target.url, { accessToken: tokens.accessToken }), anonymous };
}

/** A fresh UK mobile number from the range Ofcom keeps for drama (never a real phone). */
function newPhone(): { typed: string; e164: string; masked: string } {
  const e164 = `+447700900${String(++phoneCounter).padStart(3, '0')}`;
  return { typed: `+44 7700 900${e164.slice(-3)}`, e164, masked: `+44*******${e164.slice(-3)}` };
}

/** The code in the newest text to `number` (after `after` texts to it). */
async function textedCode(number: string, after: number): Promise<string> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const texts = twilio.messages.filter((m) => m.to === number);
    if (texts.length > after) return /\b(\d{6})\b/.exec(texts.at(-1)!.body)![1]!;
    if (Date.now() > deadline) throw new Error(`no text to ${number}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const textsTo = (number: string) => twilio.messages.filter((m) => m.to === number).length;

async function enrollPhone(user: Awaited<ReturnType<typeof newUser>>) {
  const phone = newPhone();
  await user.api.mfa.sms.begin.mutate({ phone: phone.typed, currentPassword: PASSWORD });
  const confirmed = await user.api.mfa.sms.confirm.mutate({ code: await textedCode(phone.e164, 0) });
  return { phone, backupCodes: confirmed.backupCodes!.codes };
}

describe('adding a phone', () => {
  it('needs the password and a number with its country code, and turns on only with the texted code', async () => {
    const user = await newUser();
    const phone = newPhone();
    expect((await user.api.mfa.status.query()).sms).toEqual({
      available: true,
      provider: 'twilio',
      number: null,
      enabledAt: null,
    });
    expect(await refusalOf(user.api.mfa.sms.begin.mutate({ phone: phone.typed }))).toBe('VALIDATION_FAILED');
    expect(await refusalOf(user.api.mfa.sms.begin.mutate({ phone: '07700 900123', currentPassword: PASSWORD }))).toBe(
      'VALIDATION_FAILED',
    );
    expect(textsTo(phone.e164)).toBe(0);

    const begun = await user.api.mfa.sms.begin.mutate({ phone: phone.typed, currentPassword: PASSWORD });
    expect(begun).toEqual({ status: 'sent', number: phone.masked, expiresInMinutes: 10 });
    const text = twilio.messages.findLast((m) => m.to === phone.e164)!;
    expect(text.from).toBe(twilio.fromNumbers[0]);
    expect(text.body).toMatch(/^\d{6} is your MegiLance phone confirmation code/);
    expect((await user.api.mfa.status.query()).sms.number).toBeNull();

    const code = await textedCode(phone.e164, 0);
    const wrong = code === '000000' ? '111111' : '000000';
    expect(await refusalOf(user.api.mfa.sms.confirm.mutate({ code: wrong }))).toBe('VALIDATION_FAILED');
    const confirmed = await user.api.mfa.sms.confirm.mutate({ code });
    expect(confirmed.number).toBe(phone.masked);
    expect(confirmed.backupCodes?.codes).toHaveLength(10);
    await smtp.waitForMessage((m) => m.to.includes(user.email) && /Two-step verification is on/.test(m.subject), 5_000);

    const status = await user.api.mfa.status.query();
    expect(status.sms.number).toBe(phone.masked);
    expect(status.methods).toEqual(['sms', 'backup_code']);
    expect(status.requiredAtEverySignIn).toBe(true);
    const events = await user.api.security.events.query({ limit: 10 });
    expect(events.map((e) => e.kind)).toContain('mfa_added');
    // The number in the security log is masked like everywhere else.
    expect(JSON.stringify(events)).not.toContain(phone.e164);
  });

  it('asks for a fresh second factor to add a phone next to an authenticator app or to remove it', async () => {
    const user = await newUser();
    await enrollPhone(user);
    // Another number needs the first one removed, and removing needs step-up.
    expect(await refusalOf(user.api.mfa.sms.begin.mutate({ phone: newPhone().typed, currentPassword: PASSWORD }))).toBe(
      'PRECONDITION_FAILED',
    );
    expect(await refusalOf(user.api.mfa.sms.remove.mutate())).toBe('STEP_UP_REQUIRED');
    // A factor already set up: adding an authenticator app needs step-up, not only the password.
    expect(await refusalOf(user.api.mfa.totp.begin.mutate({ currentPassword: PASSWORD }))).toBe('STEP_UP_REQUIRED');
  });
});

describe('signing in with a texted code', () => {
  it('texts the code at once when SMS is the default, accepts it once, and sends new codes on request', async () => {
    const user = await newUser();
    const { phone } = await enrollPhone(user);
    const before = textsTo(phone.e164);
    const answer = await user.anonymous.auth.signIn.mutate({ email: user.email, password: PASSWORD });
    if (answer.status !== 'mfa_required') throw new Error(answer.status);
    expect(answer).toMatchObject({ methods: ['sms', 'backup_code'], defaultMethod: 'sms', phone: phone.masked });
    expect(answer.smsSent).toBe(true);
    const first = await textedCode(phone.e164, before);
    expect(twilio.messages.findLast((m) => m.to === phone.e164)!.body).toMatch(/sign-in code/);

    // A new code replaces the old one.
    const resent = await user.anonymous.auth.sendSignInCode.mutate({ challengeId: answer.challengeId, method: 'sms' });
    expect(resent).toEqual({ status: 'sent', to: phone.masked });
    const second = await textedCode(phone.e164, before + 1);
    if (first !== second) {
      expect(
        await refusalOf(
          user.anonymous.auth.completeSignIn.mutate({ challengeId: answer.challengeId, method: 'sms', code: first }),
        ),
      ).toBe('VALIDATION_FAILED');
    }
    // Email codes would weaken the account: not offered.
    expect(
      await refusalOf(user.anonymous.auth.sendSignInCode.mutate({ challengeId: answer.challengeId, method: 'email' })),
    ).toBe('PRECONDITION_FAILED');

    const tokens = await user.anonymous.auth.completeSignIn.mutate({
      challengeId: answer.challengeId,
      method: 'sms',
      code: second,
    });
    expect(tokens.accessToken).toMatch(/^mla_/);
    const again = await user.anonymous.auth.signIn.mutate({ email: user.email, password: PASSWORD });
    if (again.status !== 'mfa_required') throw new Error(again.status);
    expect(
      await refusalOf(
        user.anonymous.auth.completeSignIn.mutate({ challengeId: again.challengeId, method: 'sms', code: second }),
      ),
    ).toBe('VALIDATION_FAILED');
  });

  it('keeps the last code working when the number hits its hourly limit', async () => {
    const user = await newUser();
    const { phone } = await enrollPhone(user); // text 1 of 4 this hour
    const answer = await user.anonymous.auth.signIn.mutate({ email: user.email, password: PASSWORD }); // 2
    if (answer.status !== 'mfa_required') throw new Error(answer.status);
    await user.anonymous.auth.sendSignInCode.mutate({ challengeId: answer.challengeId, method: 'sms' }); // 3
    await user.anonymous.auth.sendSignInCode.mutate({ challengeId: answer.challengeId, method: 'sms' }); // 4
    const last = await textedCode(phone.e164, 3);
    expect(
      await refusalOf(user.anonymous.auth.sendSignInCode.mutate({ challengeId: answer.challengeId, method: 'sms' })),
    ).toBe('RATE_LIMITED');
    expect(textsTo(phone.e164)).toBe(4);
    const tokens = await user.anonymous.auth.completeSignIn.mutate({
      challengeId: answer.challengeId,
      method: 'sms',
      code: last,
    });
    expect(tokens.accessToken).toMatch(/^mla_/);
  });
});

describe('step-up and removal', () => {
  it('steps up with a texted code; removing the last factor takes the backup codes with it', async () => {
    const user = await newUser();
    const { phone } = await enrollPhone(user);
    const sent = await user.api.mfa.sendStepUpCode.mutate({ method: 'sms' });
    expect(sent).toEqual({ status: 'sent', to: phone.masked });
    expect(twilio.messages.findLast((m) => m.to === phone.e164)!.body).toMatch(/confirmation code/);
    expect(await refusalOf(user.api.mfa.sendStepUpCode.mutate({ method: 'email' }))).toBe('PRECONDITION_FAILED');
    await user.api.mfa.stepUp.mutate({ method: 'sms', code: await textedCode(phone.e164, 1) });

    await user.api.mfa.sms.remove.mutate();
    const status = await user.api.mfa.status.query();
    expect(status.sms.number).toBeNull();
    expect(status.backupCodes.remaining).toBe(0);
    expect(status.methods).toEqual(['email']);
    expect(status.requiredAtEverySignIn).toBe(false);
    await smtp.waitForMessage((m) => m.to.includes(user.email) && /turned off/.test(m.subject), 5_000);
  });

  it('keeps the backup codes when another factor remains, and lets the user choose the default', async () => {
    const user = await newUser();
    const { phone } = await enrollPhone(user);
    await user.api.mfa.sendStepUpCode.mutate({ method: 'sms' });
    await user.api.mfa.stepUp.mutate({ method: 'sms', code: await textedCode(phone.e164, 1) });
    // Fresh from step-up: an authenticator app can be added without the password.
    const { generate } = await import('otplib');
    const enrollment = await user.api.mfa.totp.begin.mutate({});
    const confirmed = await user.api.mfa.totp.confirm.mutate({ code: await generate({ secret: enrollment.secret }) });
    expect(confirmed.backupCodes).toBeNull(); // the phone's batch stays
    expect((await user.api.mfa.status.query()).methods).toEqual(['totp', 'sms', 'backup_code']);
    expect((await user.api.mfa.status.query()).defaultMethod).toBe('totp');
    await user.api.mfa.setDefault.mutate({ method: 'sms' });
    const answer = await user.anonymous.auth.signIn.mutate({ email: user.email, password: PASSWORD });
    expect(answer).toMatchObject({ status: 'mfa_required', defaultMethod: 'sms', smsSent: true });

    await user.api.mfa.sms.remove.mutate();
    const status = await user.api.mfa.status.query();
    expect(status.backupCodes.remaining).toBe(10);
    expect(status.methods).toEqual(['totp', 'backup_code']);
    // The chosen default went with the phone: the strongest remaining method leads.
    expect(status.defaultMethod).toBe('totp');
    await smtp.waitForMessage(
      (m) => m.to.includes(user.email) && /phone number .* was removed/.test(m.subject + m.text),
      5_000,
    );
  });
});

describe('servers without Twilio', () => {
  it('keeps texts in the dev outbox outside production', async () => {
    const dev = await startTestServer(mailTo(smtp));
    try {
      const user = await newUser(dev);
      expect((await user.api.mfa.status.query()).sms).toMatchObject({ available: true, provider: 'outbox' });
      const phone = newPhone();
      await user.api.mfa.sms.begin.mutate({ phone: phone.typed, currentPassword: PASSWORD });
      const transport = dev.deps.config.sms.transport;
      if (transport.kind !== 'outbox') throw new Error(transport.kind);
      const [kept] = await new MailOutbox(transport.dir).list(1);
      expect(kept?.to).toBe(phone.e164);
      const text = await new MailOutbox(transport.dir).read(kept!.id);
      const code = /\b(\d{6})\b/.exec(text.text)![1]!;
      expect((await user.api.mfa.sms.confirm.mutate({ code })).number).toBe(phone.masked);
    } finally {
      await dev.dispose();
    }
  });

  it('says clearly that SMS is unavailable when it is off', async () => {
    const off = await startTestServer({ ...mailTo(smtp), SMS_DEV_OUTBOX: 'false' });
    try {
      const user = await newUser(off);
      expect((await user.api.mfa.status.query()).sms).toEqual({
        available: false,
        provider: null,
        number: null,
        enabledAt: null,
      });
      expect(
        await refusalOf(user.api.mfa.sms.begin.mutate({ phone: newPhone().typed, currentPassword: PASSWORD })),
      ).toBe('FEATURE_UNAVAILABLE');
    } finally {
      await off.dispose();
    }
  });
});
