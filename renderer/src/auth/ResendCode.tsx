import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { useNow } from '../settings/useNow.ts';
import { cooldownSecondsLeft } from './cooldown.ts';

/**
 * "Send a new code", unavailable for a minute after the last code went out
 * (the button says how long), with the outcome announced politely.
 */
export function ResendCode({
  sentAt,
  busy,
  error,
  sentMessage,
  onResend,
  firstLabel,
}: {
  /** When the last code was sent (epoch ms), or null if unknown. */
  sentAt: number | null;
  busy: boolean;
  error: unknown;
  /** What to say once a new code has gone out (null before). */
  sentMessage: string | null;
  onResend: () => void;
  /** The button's words before any code was sent (default: "Send a new code"). */
  firstLabel?: string | undefined;
}) {
  const { t } = useTranslation();
  const now = useNow(1_000);
  const secondsLeft = cooldownSecondsLeft(sentAt, now);
  const unavailable = busy || secondsLeft > 0;
  return (
    <div className="resend">
      <button
        type="button"
        className="button button-secondary"
        aria-disabled={unavailable ? true : undefined}
        onClick={() => {
          if (unavailable) return;
          onResend();
        }}
      >
        {busy
          ? t('account.code.sending')
          : secondsLeft > 0
            ? t('account.code.resendIn', { seconds: secondsLeft })
            : sentAt === null && firstLabel !== undefined
              ? firstLabel
              : t('account.code.resend')}
      </button>
      <div aria-live="polite" className="notice-region">
        {sentMessage !== null && !busy && <p className="notice">{sentMessage}</p>}
      </div>
      <ErrorNotice error={error} />
    </div>
  );
}

/** A mutation that mails a new code to an address (verification, password reset). */
export interface EmailCodeMutation {
  mutate(input: { email: string }, options: { onSuccess: () => void }): void;
  isPending: boolean;
  error: unknown;
}

/**
 * `ResendCode` for screens where the user types their address: sends to the
 * address in the form (or focuses the empty field) and says where it went.
 */
export function ResendCodeToEmail({
  email,
  emailFieldId,
  initialSentAt,
  mutation,
  sentMessage,
}: {
  /** The address as typed. */
  email: string;
  emailFieldId: string;
  initialSentAt: number | null;
  mutation: EmailCodeMutation;
  sentMessage: (email: string) => string;
}) {
  const [sentAt, setSentAt] = useState<number | null>(initialSentAt);
  const [resentTo, setResentTo] = useState<string | null>(null);
  return (
    <ResendCode
      sentAt={sentAt}
      busy={mutation.isPending}
      error={mutation.error}
      sentMessage={resentTo === null ? null : sentMessage(resentTo)}
      onResend={() => {
        const to = email.trim();
        if (to === '') {
          document.getElementById(emailFieldId)?.focus();
          return;
        }
        mutation.mutate(
          { email: to },
          {
            onSuccess: () => {
              setSentAt(Date.now());
              setResentTo(to);
            },
          },
        );
      }}
    />
  );
}
