/** What the security log records; users see their own on the Security page. */
export const securityEventKinds = [
  'account_created',
  'email_verified',
  'signed_in',
  'sign_in_failed',
  'sign_in_blocked',
  'signed_out',
  'session_revoked',
  'session_expired',
  'refresh_token_reuse',
  'password_changed',
  'password_reset_requested',
  'password_reset',
  'new_device',
  'risk_decision',
  'mfa_added',
  'mfa_removed',
  'mfa_used',
  'mfa_failed',
  'totp_replay_rejected',
  'rate_limited',
  'password_check_failed',
  'security_log_exported',
  'role_changed',
] as const;

export type SecurityEventKind = (typeof securityEventKinds)[number];

export interface SecurityEventView {
  id: number;
  kind: SecurityEventKind;
  at: Date;
  ip: string | null;
  deviceLabel: string | null;
  sessionId: string | null;
  detail: Record<string, string | number | boolean | null>;
}
