/**
 * `GET /recordings/:id`: a recording's file, for a <video> element (which
 * asks for byte ranges to seek, and cannot send an Authorization header) and
 * for downloads. Who asks is proved by the signed URL `calls.recording.url`
 * hands out (`?t=`, 5 minutes, bound to the user and the recording) or by
 * the bearer access token; either way the user must still belong to the
 * meeting the recording is from. `?download=1` asks the browser to save it.
 *
 * Answers: 200 (whole file) or 206 (one byte range; several ranges are
 * answered with the whole file, as RFC 9110 allows); 416 for a range past
 * the end; 401 with no proof, 403 for a bad or expired link; 404 for a
 * recording that does not exist or is not the user's; 412 while still
 * recording. Errors are JSON `{ appCode, message }`.
 */
import { createReadStream } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError, errorCatalogue, type AppErrorCode } from '../../shared/errors.ts';
import type { ServerDeps } from '../context.ts';
import { resolveAccessToken } from '../security/sessions.ts';

export const RECORDINGS_PATH = '/recordings';

/** The first range of a `Range: bytes=…` header: [start, end] inclusive, 'unsatisfiable', or null (serve it all). */
export function parseRange(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | null {
  if (header === undefined) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return null;
  const [, from, to] = match;
  if (from === '' && to === '') return null;
  if (from === '') {
    const suffix = Number(to);
    if (suffix === 0) return 'unsatisfiable';
    return [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(from);
  const end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  if (start >= size || start > end) return 'unsatisfiable';
  return [start, end];
}

/** RFC 6266: an ASCII fallback and the UTF-8 name. */
function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

function refuse(reply: FastifyReply, code: AppErrorCode, message?: string) {
  return reply
    .code(errorCatalogue[code].http)
    .header('cache-control', 'no-store')
    .send({ appCode: code, message: message ?? errorCatalogue[code].message });
}

export function registerRecordingRoutes(app: FastifyInstance, deps: ServerDeps): void {
  app.get<{ Params: { id: string }; Querystring: { t?: string; download?: string } }>(
    `${RECORDINGS_PATH}/:id`,
    async (req, reply) => {
      const recordings = deps.calls.recordings;
      const recordingId = req.params.id;
      let userId: string;
      const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (typeof req.query.t === 'string') {
        const verdict = recordings.verifyToken(recordingId, req.query.t);
        if ('problem' in verdict) return refuse(reply, 'FORBIDDEN', verdict.problem);
        userId = verdict.userId;
      } else if (bearer !== undefined) {
        const session = await resolveAccessToken(deps.db, deps.config.security, bearer);
        if (session === null) return refuse(reply, 'UNAUTHENTICATED');
        userId = session.userId;
      } else {
        return refuse(reply, 'UNAUTHENTICATED');
      }
      let file: { path: string; size: number; name: string };
      try {
        file = await recordings.file(userId, recordingId);
      } catch (error) {
        if (error instanceof AppError) return refuse(reply, error.code, error.message);
        throw error;
      }
      const range = parseRange(req.headers.range, file.size);
      reply
        .header('accept-ranges', 'bytes')
        .header('content-type', 'video/webm')
        .header('cache-control', 'private, max-age=300')
        .header(
          'content-disposition',
          contentDisposition(req.query.download === '1' ? 'attachment' : 'inline', file.name),
        )
        // The desktop app's pages come from app://, another origin: let its <video> load this.
        .header('cross-origin-resource-policy', 'cross-origin');
      if (range === 'unsatisfiable') {
        return reply.code(416).header('content-range', `bytes */${file.size}`).send();
      }
      const [start, end] = range ?? [0, file.size - 1];
      if (range !== null) reply.code(206).header('content-range', `bytes ${start}-${end}/${file.size}`);
      reply.header('content-length', String(file.size === 0 ? 0 : end - start + 1));
      if (req.method === 'HEAD' || file.size === 0) return reply.send();
      return reply.send(createReadStream(file.path, { start, end }));
    },
  );
}
