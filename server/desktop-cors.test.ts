import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../tests/support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.dispose();
});

describe('the desktop app origin', () => {
  it('may call the API from app://megilance, preflight included, without credentials', async () => {
    const preflight = await fetch(`${server.url}/trpc/system.info`, {
      method: 'OPTIONS',
      headers: {
        origin: 'app://megilance',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('app://megilance');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    const answer = await fetch(`${server.url}/trpc/system.info`, { headers: { origin: 'app://megilance' } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBe('app://megilance');
  });

  it('opens nothing to other origins or other paths', async () => {
    const foreign = await fetch(`${server.url}/trpc/system.info`, { headers: { origin: 'https://evil.example' } });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    const page = await fetch(`${server.url}/healthz`, { headers: { origin: 'app://megilance' } });
    expect(page.headers.get('access-control-allow-origin')).toBeNull();
  });
});
