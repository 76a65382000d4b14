/**
 * Talking to a test server as a client would: a tRPC client over HTTP, the
 * mail a real SMTP server on loopback captured, and the app error code of a
 * refused call.
 */
import { createTRPCClient, createWSClient, httpLink, TRPCClientError, wsLink } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from '../../server/router.ts';
import type { TestSmtpServer } from './smtp.ts';

export const CHROME_ON_LINUX = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36';

/** Server env that sends account mail to the loopback SMTP server. */
export function mailTo(smtp: TestSmtpServer): Record<string, string> {
  return { MAIL_SMTP_HOST: smtp.host, MAIL_SMTP_PORT: String(smtp.port), MAIL_SMTP_SECURITY: 'none' };
}

export interface ClientOptions {
  accessToken?: string | undefined;
  /** Default: Chrome on Linux (the device test accounts are made on). */
  userAgent?: string;
  /** Sent as X-Forwarded-For: the server must trust loopback as a proxy (MEGILANCE_TRUST_PROXY). */
  from?: string;
}

/** The desktop app's way of calling: tokens in answers, the access token as a bearer header. */
export function apiClient(serverUrl: string, options: ClientOptions = {}) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${serverUrl}/trpc`,
        transformer: superjson,
        headers: () => ({
          'x-megilance-client': 'desktop',
          'user-agent': options.userAgent ?? CHROME_ON_LINUX,
          ...(options.accessToken === undefined ? {} : { authorization: `Bearer ${options.accessToken}` }),
          ...(options.from === undefined ? {} : { 'x-forwarded-for': options.from }),
        }),
      }),
    ],
  });
}

let accounts = 0;

/** A new verified account (a unique email from `name`), signed in: its access token and a client using it. */
export async function signedUpUser(
  serverUrl: string,
  smtp: TestSmtpServer,
  name: string,
  password = 'correct horse battery staple',
) {
  const email = `${name.toLowerCase()}-${++accounts}-${Date.now()}@example.com`;
  const anonymous = apiClient(serverUrl);
  await anonymous.auth.signUp.mutate({ email, password, displayName: name });
  const tokens = await anonymous.auth.verifyEmail.mutate({
    email,
    code: await mailedCode(smtp, email, /Confirm your email/),
  });
  return { email, accessToken: tokens.accessToken, api: apiClient(serverUrl, { accessToken: tokens.accessToken }) };
}

/** The 6-digit code in the newest mail to `email` whose subject matches. */
export async function mailedCode(smtp: TestSmtpServer, email: string, subject: RegExp): Promise<string> {
  const mail = await smtp.waitForMessage((m) => m.to.includes(email) && subject.test(m.subject), 5_000);
  const code = /\b(\d{6})\b/.exec(mail.text ?? '')?.[1];
  if (code === undefined) throw new Error(`no code in mail "${mail.subject}"`);
  return code;
}

/** The app error code a call was refused with (throws if it succeeded or failed otherwise). */
export async function refusalOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCClientError) return String((error.data as { appCode?: string } | undefined)?.appCode);
    throw error;
  }
  throw new Error('expected the call to be refused');
}

type LiveClient = ReturnType<typeof createTRPCClient<AppRouter>>;

/**
 * Opens a WebSocket client with `accessToken` (or none), starts a
 * subscription, and settles with its first event or its first error (a
 * TRPCClientError, which `refusalOf` reads). The socket is closed after.
 */
export async function firstEventOf(
  serverUrl: string,
  accessToken: string | undefined,
  subscribe: (
    client: LiveClient,
    handlers: { onData: (value: unknown) => void; onError: (error: unknown) => void },
  ) => { unsubscribe(): void },
): Promise<unknown> {
  const ws = createWSClient({
    url: `${serverUrl.replace(/^http/, 'ws')}/trpc`,
    connectionParams: () => (accessToken === undefined ? {} : { accessToken }),
  });
  const client = createTRPCClient<AppRouter>({ links: [wsLink({ client: ws, transformer: superjson })] });
  try {
    return await new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no event and no error within 5 s')), 5_000);
      const subscription = subscribe(client, {
        onData: (value) => {
          clearTimeout(timer);
          subscription.unsubscribe();
          resolve(value);
        },
        onError: (error) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      });
    });
  } finally {
    void ws.close();
  }
}
