/**
 * The second sign-in step, when the server asks for one (`mfa_required`):
 * why it asks, a choice among the methods it offers (the default first), the
 * code, and for the email method a way to get a new code. A spent backup code
 * is followed by how many remain, before the user goes on.
 */
import { useMutation } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, Navigate, useLocation } from 'react-router';
import { z } from 'zod';
import type { IssuedTokens } from '../../../shared/accounts.ts';
import { useTRPC } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { useDescribeError } from '../errors/ErrorNotice.tsx';
import { FormNotice, SubmitButton, TextField } from '../forms/fields.tsx';
import { useAccountForm } from '../forms/useAccountForm.ts';
import { accountRoutes, readAccountState, type AccountScreenState } from './accountRoutes.ts';
import { useAuthSession } from './AuthContext.tsx';
import { AccountPage } from './AuthLayout.tsx';
import { grantOf } from './grant.ts';
import { ResendCode } from './ResendCode.tsx';
import { carriedReturnPath, withReturnPath } from './returnPath.ts';
import {
  codeInput,
  methodsDefaultFirst,
  parseChallenge,
  secondFactorCodeSchema,
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
  const [sentAt, setSentAt] = useState<number | null>(challenge.methods.includes('email') ? codeSentAt : null);
  const [resent, setResent] = useState(false);
  // Signed in with a backup code: say how many are left before going on.
  const [spent, setSpent] = useState<{ tokens: IssuedTokens; remaining: number } | null>(null);
  const complete = useMutation(
    trpc.auth.completeSignIn.mutationOptions({
      onSuccess: ({ backupCodesRemaining, ...tokens }) => {
        if (backupCodesRemaining === undefined) session.signedIn(grantOf(tokens));
        else setSpent({ tokens, remaining: backupCodesRemaining });
      },
    }),
  );
  const sendCode = useMutation({
    ...trpc.auth.sendSignInCode.mutationOptions(),
    onSuccess: () => {
      setSentAt(Date.now());
      setResent(true);
    },
  });
  const schema = z.object({ code: secondFactorCodeSchema(method) });
  const form = useAccountForm({ formId: 'second-step', schema, initial: { code: '' }, error: complete.error });
  // An expired or finished challenge cannot be retried: the way on is a fresh sign-in.
  const challengeOver = complete.error !== null && describe(complete.error).kind === 'UNAUTHENTICATED';
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
          onClick={() => session.signedIn(grantOf(spent.tokens))}
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
      <form
        className="form"
        noValidate
        onSubmit={form.handleSubmit((data) => {
          if (complete.isPending) return;
          complete.mutate({ challengeId: challenge.challengeId, ...codeInput(method, data.code) });
        })}
      >
        <TextField
          id={form.fieldId('code')}
          label={t(`account.secondStep.codeLabel.${method}`)}
          autoComplete="one-time-code"
          inputMode={method === 'backup_code' ? 'text' : 'numeric'}
          value={form.values.code}
          onChange={form.set('code')}
          error={form.errorFor('code')}
          hint={t(`account.secondStep.hint.${method}`)}
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
      {method === 'email' && !challengeOver && (
        <ResendCode
          sentAt={sentAt}
          busy={sendCode.isPending}
          error={sendCode.error}
          sentMessage={resent ? t('account.secondStep.resent') : null}
          onResend={() => sendCode.mutate({ challengeId: challenge.challengeId })}
        />
      )}
      {!challengeOver && <p className="account-switch">{signInAgain}</p>}
    </AccountPage>
  );
}
