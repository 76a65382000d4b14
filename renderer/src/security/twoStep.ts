/**
 * The pure parts of the two-step verification screens: what a failed call
 * asks for (step-up, the password again), the QR code as an image URL, the
 * backup-code file, and what a failed WebAuthn ceremony means for the user.
 */

function appCodeOf(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return undefined;
  const data = (error as { data?: unknown }).data;
  return typeof data === 'object' && data !== null ? (data as { appCode?: unknown }).appCode : undefined;
}

/** The server refused because the session has not proved a second factor recently enough. */
export function isStepUpRequired(error: unknown): boolean {
  return appCodeOf(error) === 'STEP_UP_REQUIRED';
}

/** `mfa.totp.begin` without a password, when the server wants it (a field error on `currentPassword`). */
export function asksForPassword(error: unknown): boolean {
  if (appCodeOf(error) !== 'VALIDATION_FAILED') return false;
  const fieldErrors = (error as { data: { fieldErrors?: unknown } }).data.fieldErrors;
  return typeof fieldErrors === 'object' && fieldErrors !== null && 'currentPassword' in fieldErrors;
}

/** The user closed the step-up dialog: the action was given up, not failed. */
export class StepUpCancelled extends Error {
  constructor() {
    super('Step-up cancelled');
    this.name = 'StepUpCancelled';
  }
}

/** An error worth showing (a cancelled step-up is not one). */
export function shownError(error: unknown): unknown {
  return error instanceof StepUpCancelled ? null : error;
}

/**
 * The server's QR code (an SVG document) as an `<img>` source: an image
 * cannot run scripts or touch the page, unlike SVG put into the DOM.
 */
export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

/** A base32 secret in groups of four, easier to read out and type. */
export function groupSecret(secret: string): string {
  return (secret.replace(/\s/g, '').match(/.{1,4}/g) ?? []).join(' ');
}

/** The text file offered for download: a title, when, the codes one a line, and how to use them. */
export function backupCodesFile(
  codes: readonly string[],
  lines: { title: string; generated: string; note: string },
): string {
  return [
    lines.title,
    lines.generated,
    '',
    ...codes.map((code, i) => `${String(i + 1).padStart(2, ' ')}. ${code}`),
    '',
    lines.note,
    '',
  ].join('\n');
}

export type WebAuthnFailure = 'cancelled' | 'already_registered' | 'unsupported' | 'failed';

/**
 * What a rejected `startRegistration` / `startAuthentication` means, or null
 * when the error is not from the browser's WebAuthn (e.g. a server answer).
 */
export function webAuthnFailure(error: unknown): WebAuthnFailure | null {
  if (typeof error !== 'object' || error === null) return null;
  const { name, code } = error as { name?: unknown; code?: unknown };
  if (code === 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED' || name === 'InvalidStateError') return 'already_registered';
  if (name === 'NotAllowedError' || name === 'AbortError' || code === 'ERROR_CEREMONY_ABORTED') return 'cancelled';
  if (name === 'NotSupportedError' || name === 'SecurityError') return 'unsupported';
  if (name === 'WebAuthnError' || (typeof code === 'string' && code.startsWith('ERROR_'))) return 'failed';
  if (error instanceof Error && /WebAuthn/i.test(error.message)) return 'unsupported';
  return null;
}
