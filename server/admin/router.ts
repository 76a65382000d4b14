/** Platform administration. Every procedure needs an admin with a fresh second factor. */
import { z } from 'zod';
import { securityEventKinds } from '../../shared/security-events.ts';
import { recordSecurityEvent } from '../security/events.ts';
import { exportSecurityEvents, toCsv } from '../security/event-export.ts';
import { adminProcedure, router } from '../trpc.ts';

export const adminRouter = router({
  exportSecurityEvents: adminProcedure
    .input(
      z.object({
        format: z.enum(['json', 'csv']),
        userEmail: z.string().trim().max(254).optional(),
        from: z.date().optional(),
        to: z.date().optional(),
        kinds: z.array(z.enum(securityEventKinds)).max(securityEventKinds.length).optional(),
        limit: z.number().int().min(1).max(100_000).default(10_000),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const events = await exportSecurityEvents(ctx.deps.db, input);
      // Exports are themselves audited: who took which slice of the log.
      await recordSecurityEvent(ctx.deps.db, {
        userId: ctx.session.userId,
        kind: 'security_log_exported',
        ip: ctx.client.ip,
        sessionId: ctx.session.sessionId,
        detail: { format: input.format, rows: events.length, user: input.userEmail ?? null },
      });
      const stamp = new Date().toISOString().slice(0, 10);
      return input.format === 'csv'
        ? {
            filename: `megilance-security-log-${stamp}.csv`,
            contentType: 'text/csv',
            rows: events.length,
            body: toCsv(events),
          }
        : {
            filename: `megilance-security-log-${stamp}.json`,
            contentType: 'application/json',
            rows: events.length,
            body: JSON.stringify(events, null, 2),
          };
    }),
});
