/**
 * Security log entries as sentences a user reads ("You signed out a
 * device"), chosen by the event's kind and, where it changes the meaning, its
 * detail (how someone signed in, why a device was signed out). Sentences the
 * server wrote for users (risk reasons, new-device notices) come along as a
 * note, shown as sent.
 */
import type { SecurityEventView } from '../../../shared/security-events.ts';
import type en from '../i18n/en.json';

export type EventSentenceId = keyof (typeof en)['security']['activity']['events'];
export type EventSentenceKey = `security.activity.events.${EventSentenceId}`;

export interface EventSentence {
  key: EventSentenceKey;
  /** The server's own words for the user, if the event carries any. */
  note: string | null;
  /** Where it happened, when the server recorded it. */
  place: string | null;
}

type Detail = SecurityEventView['detail'];

function text(detail: Detail, name: string): string | null {
  const value = detail[name];
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

const signInMethods: Partial<Record<string, EventSentenceId>> = {
  password: 'signed_in_password',
  email_code: 'signed_in_email_code',
  email: 'signed_in_email',
  totp: 'signed_in_totp',
  sms: 'signed_in_sms',
  passkey: 'signed_in_passkey',
  backup_code: 'signed_in_backup_code',
};

const failureReasons: Partial<Record<string, EventSentenceId>> = {
  password: 'sign_in_failed_password',
  'wrong password': 'sign_in_failed_password',
  disabled: 'sign_in_failed_disabled',
  'account disabled': 'sign_in_failed_disabled',
};

const revokeReasons: Partial<Record<string, EventSentenceId>> = {
  revoked_by_user: 'session_revoked_by_user',
  password_changed: 'session_revoked_password_changed',
  password_reset: 'session_revoked_password_reset',
  session_limit: 'session_revoked_session_limit',
};

const expiryReasons: Partial<Record<string, EventSentenceId>> = {
  idle_expiry: 'session_expired_idle',
  absolute_expiry: 'session_expired_absolute',
};

const roles: Partial<Record<string, EventSentenceId>> = {
  admin: 'role_changed_admin',
  member: 'role_changed_member',
};

function sentenceId(event: Pick<SecurityEventView, 'kind' | 'detail'>): EventSentenceId {
  const { kind, detail } = event;
  switch (kind) {
    case 'signed_in':
      return signInMethods[text(detail, 'method') ?? ''] ?? 'signed_in';
    case 'sign_in_failed':
      return failureReasons[text(detail, 'reason') ?? ''] ?? 'sign_in_failed';
    case 'session_revoked':
      return revokeReasons[text(detail, 'reason') ?? ''] ?? 'session_revoked';
    case 'session_expired':
      return expiryReasons[text(detail, 'reason') ?? ''] ?? 'session_expired';
    case 'role_changed':
      return roles[text(detail, 'role') ?? ''] ?? 'role_changed';
    default:
      return kind;
  }
}

/** Which detail fields hold sentences written for the user, by kind. */
function noteOf(event: Pick<SecurityEventView, 'kind' | 'detail'>): string | null {
  switch (event.kind) {
    case 'new_device':
      return text(event.detail, 'message');
    case 'sign_in_blocked':
    case 'risk_decision':
      return text(event.detail, 'reasons');
    default:
      return null;
  }
}

export function securityEventSentence(event: Pick<SecurityEventView, 'kind' | 'detail'>): EventSentence {
  return {
    key: `security.activity.events.${sentenceId(event)}`,
    note: noteOf(event),
    place: text(event.detail, 'place'),
  };
}
