/** The whole API: one sub-router per domain. The renderer imports only the type. */
import { adminRouter } from './admin/router.ts';
import { callsRouter } from './calls/router.ts';
import { draftsRouter } from './drafts/router.ts';
import { meetingsRouter } from './meetings/router.ts';
import { scheduleRouter } from './meetings/schedule-router.ts';
import { notificationsRouter } from './notifications/router.ts';
import { passkeysRouter } from './security/passkeys-router.ts';
import { authRouter, mfaRouter, securityRouter } from './security/router.ts';
import { systemRouter } from './system/router.ts';
import { router } from './trpc.ts';

export const appRouter = router({
  system: systemRouter,
  auth: authRouter,
  security: securityRouter,
  mfa: mfaRouter,
  passkeys: passkeysRouter,
  admin: adminRouter,
  drafts: draftsRouter,
  meetings: meetingsRouter,
  calls: callsRouter,
  schedule: scheduleRouter,
  notifications: notificationsRouter,
});

export type AppRouter = typeof appRouter;
