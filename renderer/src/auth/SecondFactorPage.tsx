/**
 * The second sign-in step, when the server asks for one (`mfa_required`):
 * why it asks, a choice among the methods it offers (the default first), and
 * then either the passkey / security key prompt or the code, with a way to
 * get a new code by email or text. A spent backup code is followed by how
 * many remain, before the user goes on.
 */
import { startAuthentication } from '@simplewebauthn/browser';
import { useMutation } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, Navigate, useLocation } from 'react-router';
import { z } from 'zod';
import type { IssuedTokens } from '../../../shared/accounts.ts';
import { useTRPC, useTRPCClient } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { useDescribeError } from '../errors/ErrorNotice.tsx';
import { FormNotice, SubmitButton, TextField } from '../forms/fields.tsx';
import { WebAuthnErrorNotice } from '../security/WebAuthnErrorNotice.tsx';
import { useAccountForm } from '../forms/useAccountForm.ts';
import { accountRoutes, readAccountState, type AccountScreenState } from './accountRoutes.ts';
import { useAuthSession } from './AuthContext.tsx';
import { AccountPage } from './AuthLayout.tsx';
import { ResendCode } from './ResendCode.tsx';
import { carriedReturnPath, withReturnPath } from './returnPath.ts';
import {
  codeInput,
  methodsDefaultFirst,
  parseChallenge,
  secondFactorCodeSchema,
  type CodeMethod,
  type SecondFactorChallenge,
  type SecondFactorMethod,
} from './secondFactor.ts';

export function SecondFactorPage() {
  const location = useLocation();
  const arrived = readAccountState(location.state);
  const challenge = parseChallenge(arrived.challenge);
  const next = carriedReturnPath(location.search);
  // Reached without a challenge (typed in, or history lost it): start from the password again.
  if (challenge === null) return <Navigate to={withReturnPath(accountRoutes.signIn, next)} replace />;
  return <SecondFactorStep challenge={challenge} email={arrived.email ?? ''} codeSentAt={arrived.codeSentAt ?? null} />;
}

function SecondFactorStep({
  challenge,
  email,
  codeSentAt,
}: {
  challenge: SecondFactorChallenge;
  email: string;
  codeSentAt: number | null;
}) {
  const { t } = useTranslation();
  const location = useLocation();
  const next = carriedReturnPath(location.search);
  const session = useAuthSession();
  const trpc = useTRPC();
  const describe = useDescribeError();
  const reasonsId = useId();
  const [method, setMethod] = useState<SecondFactorMethod>(challenge.defaultMethod);
  // When the last code of each channel went out: the email one with the password step, the text if it was the default.
  const [sentAt, setSentAt] = useState<Record<'email' | 'sms', number | null>>(() => ({
    email: challenge.methods.includes('email') ? codeSentAt : null,
    sms: challenge.smsSent ? Date.now() : null,
  }));
  const [resent, setResent] = useState<'email' | 'sms' | null>(null);
  const client = useTRPCClient();
  // Signed in with a backup code: say how many are left before going on.
  const [spent, setSpent] = useState<{ tokens: IssuedTokens; remaining: number } | null>(null);
  const complete = useMutation(
    trpc.auth.completeSignIn.mutationOptions({
      onSuccess: ({ backupCodesRemaining, ...tokens }) => {
        if (backupCodesRemaining === undefined) session.signedInWith(tokens);
        else setSpent({ tokens, remaining: backupCodesRemaining });
      },
    }),
  );
  const sendCode = useMutation({
    ...trpc.auth.sendSignInCode.mutationOptions(),
    onSuccess: (_answer, input) => {
      setSentAt((before) => ({ ...before, [input.method ?? 'email']: Date.now() }));
      setResent(input.method ?? 'email');
    },
  });
  // A passkey or security key: options for this sign-in's account, the browser's prompt, then the server's check.
  const passkey = useMutation({
    mutationFn: async () => {
      const { challengeId: passkeyChallengeId, options } = await client.passkeys.secondStepOptions.mutate({
        challengeId: challenge.challengeId,
      });
      const response = await startAuthentication({ optionsJSON: options });
      return client.passkeys.completeSignIn.mutate({
        challengeId: challenge.challengeId,
        passkeyChallengeId,
        response,
      });
    },
    onSuccess: (tokens) => session.signedInWith(tokens),
  });
  const codeMethod: CodeMethod = method === 'passkey' ? 'totp' : method;
  const schema = z.object({ code: secondFactorCodeSchema(codeMethod) });
  const form = useAccountForm({ formId: 'second-step', schema, initial: { code: '' }, error: complete.error });
  // An expired or finished challenge cannot be retried: the way on is a fresh sign-in.
  const challengeOver =
    (complete.error !== null && describe(complete.error).kind === 'UNAUTHENTICATED') ||
    (passkey.error !== null && describe(passkey.error).kind === 'UNAUTHENTICATED' && isChallengeExpiry(passkey.error));
  const signInAgain = (
    <Link
      to={withReturnPath(accountRoutes.signIn, next)}
      state={{ email } satisfies AccountScreenState}
      className={challengeOver ? 'button' : undefined}
    >
      {t('account.secondStep.startOver')}
    </Link>
  );

  const chooseMethod = (chosen: SecondFactorMethod) => {
    setMethod(chosen);
    form.reset();
    complete.reset();
    passkey.reset();
  };

  if (spent !== null) {
    return (
      <AccountPage title={t('account.secondStep.title')}>
        <FormNotice>
          {spent.remaining === 0
            ? t('account.secondStep.noBackupCodesLeft')
            : t('account.secondStep.backupCodesLeft', { count: spent.remaining })}
        </FormNotice>
        {spent.remaining <= 3 && <p>{t('account.secondStep.makeNewCodes')}</p>}
        <button
          type="button"
          className="button button-block"
          autoFocus
          // The account layout then sends the user on, signed in.
          onClick={() => session.signedInWith(spent.tokens)}
        >
          {t('account.secondStep.continue')}
        </button>
      </AccountPage>
    );
  }

  return (
    <AccountPage title={t('account.secondStep.title')} lead={t('account.secondStep.lead')}>
      {challenge.reasons.length > 0 && (
        <section className="reasons" aria-labelledby={reasonsId}>
          <h2 id={reasonsId}>{t('account.secondStep.reasonsHeading')}</h2>
          <ul>
            {challenge.reasons.map((reason) => (
              <li key={reason}>{reason}</li>
            ))}
          </ul>
        </section>
      )}
      {challenge.methods.length > 1 && (
        <fieldset className="choice-group" role="radiogroup" aria-labelledby="second-step-methods">
          <legend id="second-step-methods">{t('account.secondStep.methodLegend')}</legend>
          <div className="choices">
            {methodsDefaultFirst(challenge).map((option) => (
              <label key={option} className="choice">
                <input
                  type="radio"
                  name="second-step-method"
                  value={option}
                  checked={method === option}
                  onChange={() => chooseMethod(option)}
                />
                {t(`account.secondStep.methods.${option}`)}
              </label>
            ))}
          </div>
        </fieldset>
      )}
      {method === 'passkey' ? (
        <div className="form">
          <p>{t('account.secondStep.hint.passkey')}</p>
          {challengeOver ? (
            <p>{signInAgain}</p>
          ) : (
            <button
              type="button"
              className="button button-block"
              autoFocus
              aria-disabled={passkey.isPending ? true : undefined}
              onClick={() => !passkey.isPending && passkey.mutate()}
            >
              {passkey.isPending && <span className="spinner" aria-hidden="true" />}
              {passkey.isPending ? t('account.secondStep.passkeyBusy') : t('account.secondStep.passkeyButton')}
            </button>
          )}
          <WebAuthnErrorNotice error={passkey.error} />
        </div>
      ) : (
        <form
          className="form"
          noValidate
          onSubmit={form.handleSubmit((data) => {
            if (complete.isPending) return;
            complete.mutate({ challengeId: challenge.challengeId, ...codeInput(codeMethod, data.code) });
          })}
        >
          <TextField
            id={form.fieldId('code')}
            label={t(`account.secondStep.codeLabel.${codeMethod}`)}
            autoComplete="one-time-code"
            inputMode={codeMethod === 'backup_code' ? 'text' : 'numeric'}
            value={form.values.code}
            onChange={form.set('code')}
            error={form.errorFor('code')}
            hint={
              codeMethod === 'sms'
                ? sentAt.sms === null
                  ? t('account.secondStep.hint.smsNotSent', { phone: challenge.phone ?? '' })
                  : t('account.secondStep.hint.sms', { phone: challenge.phone ?? '' })
                : t(`account.secondStep.hint.${codeMethod}`)
            }
          />
          {/* A refused code is said beside the field; anything else here. */}
          <ErrorNotice error={form.errorFor('code') === undefined ? complete.error : null} />
          {challengeOver ? (
            <p>{signInAgain}</p>
          ) : (
            <SubmitButton
              busy={complete.isPending}
              label={t('account.secondStep.submit')}
              busyLabel={t('account.secondStep.busy')}
            />
          )}
        </form>
      )}
      {(method === 'email' || method === 'sms') && !challengeOver && (
        <ResendCode
          key={method}
          sentAt={sentAt[method]}
          busy={sendCode.isPending}
          error={sendCode.error}
          sentMessage={resent === method ? t(`account.secondStep.resent.${method}`) : null}
          firstLabel={method === 'sms' ? t('account.secondStep.textMeACode') : undefined}
          onResend={() => sendCode.mutate({ challengeId: challenge.challengeId, method })}
        />
      )}
      {!challengeOver && <p className="account-switch">{signInAgain}</p>}
    </AccountPage>
  );
}

/** The passkey request or the sign-in itself expired: only a fresh sign-in helps (a refused key may be retried). */
function isChallengeExpiry(error: unknown): boolean {
  const details = (error as { data?: { details?: { reason?: unknown } | null } } | null)?.data?.details;
  return details?.reason === 'challenge_expired';
}
