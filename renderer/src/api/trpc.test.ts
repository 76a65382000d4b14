import { describe, expect, it } from 'vitest';
import { authorizationHeaders, reconnectDelayMs, shouldRetryQuery } from './trpc.ts';

describe('reconnectDelayMs', () => {
  it('retries a dropped connection almost at once, then backs off to a 10 s ceiling', () => {
    const delays = Array.from({ length: 8 }, (_, attempt) => reconnectDelayMs(attempt));
    expect(delays).toEqual([250, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });
});

describe('authorizationHeaders', () => {
  it('sends the access token as a bearer token, and nothing when signed out', () => {
    expect(authorizationHeaders('mla_abc')).toEqual({ authorization: 'Bearer mla_abc' });
    expect(authorizationHeaders(null)).toEqual({});
  });
});

describe('shouldRetryQuery', () => {
  const answered = (httpStatus: number) => ({ data: { appCode: 'X', httpStatus } });
  it('retries what may pass (no answer, a server failure) up to three times', () => {
    expect(shouldRetryQuery(0, new TypeError('Failed to fetch'))).toBe(true);
    expect(shouldRetryQuery(2, answered(503))).toBe(true);
    expect(shouldRetryQuery(3, answered(503))).toBe(false);
  });

  it('does not repeat a refusal', () => {
    for (const status of [400, 401, 403, 404, 429]) expect(shouldRetryQuery(0, answered(status))).toBe(false);
  });
});
