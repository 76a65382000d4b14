/**
 * Form controls for the account screens and beyond: a label, the control,
 * its hint and its error, tied together for assistive tech
 * (`aria-describedby`, `aria-invalid`), and submit buttons that say when they
 * are busy.
 */
import { useState, type HTMLInputAutoCompleteAttribute, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

export interface TextFieldProps {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  type?: 'text' | 'email' | 'password' | 'tel';
  autoComplete?: HTMLInputAutoCompleteAttribute;
  inputMode?: 'text' | 'email' | 'numeric' | 'tel';
  hint?: ReactNode;
  error?: string | undefined;
  autoFocus?: boolean;
  /** Shown after the label, e.g. a "Forgot your password?" link. */
  labelAside?: ReactNode;
  /** Adds a "Show password" toggle to a password field. */
  revealable?: boolean;
  readOnly?: boolean;
}

export function TextField({
  id,
  label,
  value,
  onChange,
  type = 'text',
  autoComplete,
  inputMode,
  hint,
  error,
  autoFocus,
  labelAside,
  revealable = false,
  readOnly,
}: TextFieldProps) {
  const { t } = useTranslation();
  const [revealed, setRevealed] = useState(false);
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [error !== undefined ? errorId : null, hint !== undefined ? hintId : null]
    .filter((part) => part !== null)
    .join(' ');
  const input = (
    <input
      id={id}
      name={id}
      className="input"
      type={type === 'password' && revealed ? 'text' : type}
      value={value}
      onChange={(event) => onChange(event.target.value)}
      autoComplete={autoComplete}
      inputMode={inputMode}
      autoFocus={autoFocus}
      readOnly={readOnly}
      spellCheck={type === 'text' ? undefined : false}
      autoCapitalize={type === 'text' ? undefined : 'none'}
      aria-invalid={error !== undefined ? true : undefined}
      aria-describedby={describedBy === '' ? undefined : describedBy}
    />
  );
  return (
    <div className="field field-wide">
      <div className="field-label-row">
        <label htmlFor={id}>{label}</label>
        {labelAside}
      </div>
      {type === 'password' && revealable ? (
        <div className="input-with-action">
          {input}
          <button
            type="button"
            className="input-action"
            aria-pressed={revealed}
            aria-controls={id}
            aria-label={t('forms.showPassword')}
            onClick={() => setRevealed((shown) => !shown)}
          >
            {t('forms.show')}
          </button>
        </div>
      ) : (
        input
      )}
      {error !== undefined && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
      {hint !== undefined && (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      )}
    </div>
  );
}

/**
 * A submit button that stays focusable while busy (so focus is not lost
 * mid-request) and says what is happening; the form ignores submits meanwhile.
 */
export function SubmitButton({
  busy,
  label,
  busyLabel,
  wide = true,
}: {
  busy: boolean;
  label: string;
  busyLabel: string;
  /** As wide as the form (account screens); otherwise as wide as its text. */
  wide?: boolean;
}) {
  return (
    <button type="submit" className={wide ? 'button button-block' : 'button'} aria-disabled={busy ? true : undefined}>
      {busy && <span className="spinner" aria-hidden="true" />}
      {busy ? busyLabel : label}
    </button>
  );
}

/** A polite announcement that stays in the page (e.g. "We sent a new code"). */
export function FormNotice({ children }: { children: ReactNode }) {
  return (
    <div aria-live="polite" className="notice-region">
      {children !== null && children !== undefined && children !== false && <p className="notice">{children}</p>}
    </div>
  );
}
