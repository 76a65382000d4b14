import { z } from 'zod';
import { publicProcedure, router } from '../trpc.ts';
import { serverInfo, statusStream } from './service.ts';

export const systemRouter = router({
  info: publicProcedure.query(({ ctx }) => serverInfo(ctx.deps)),

  /** Live server status over WebSocket: first value at once, then heartbeats and state changes. */
  status: publicProcedure
    .input(
      z.object({ intervalMs: z.number().int().min(1_000).max(60_000).default(15_000) }).default({ intervalMs: 15_000 }),
    )
    .subscription(({ ctx, input, signal }) =>
      statusStream(ctx.deps, signal ?? new AbortController().signal, input.intervalMs),
    ),
});
