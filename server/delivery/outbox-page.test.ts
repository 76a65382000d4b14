import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../tests/support/server.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.dispose();
  server = undefined;
});

describe('dev mail page', () => {
  it('shows mail from the dev outbox, with its code, in development', async () => {
    server = await startTestServer({ NODE_ENV: 'development' });
    await fetch(`${server.url}/trpc/auth.signUp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        json: { email: 'dev@example.com', password: 'a long dev password', displayName: 'Dev <b>' },
      }),
    });
    const list = await (await fetch(`${server.url}/dev/mail`)).text();
    expect(list).toContain('dev@example.com');
    const link = /href="(\/dev\/mail\/[^"]+)"/.exec(list)?.[1];
    expect(link).toBeDefined();
    const message = await (await fetch(`${server.url}${link}`)).text();
    expect(message).toMatch(/Confirm your email/);
    expect(message).toMatch(/\b\d{6}\b/);
    // Names are escaped, never rendered as markup.
    expect(message).toContain('Dev &lt;b&gt;');
    expect((await fetch(`${server.url}/dev/mail/not-a-message`)).status).toBe(404);
  });

  it('does not exist outside development', async () => {
    server = await startTestServer({ NODE_ENV: 'test' });
    // The path falls through to the app shell (or 404); the outbox is never shown.
    expect(await (await fetch(`${server.url}/dev/mail`)).text()).not.toContain('Dev mail outbox');
  });
});
