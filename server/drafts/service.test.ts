/**
 * The drafts rules on a real database: a migrated SQLite file, and the same
 * suite on a scratch PostgreSQL when one is reachable. Inputs go through the
 * shared zod schemas first, as the router does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  listDraftsInput,
  removeDraftInput,
  saveDraftInput,
  type ListDraftsInput,
  type RemoveDraftInput,
  type SaveDraftInput,
} from '../../shared/drafts.ts';
import { AppError } from '../../shared/errors.ts';
import {
  createScratchDatabase,
  postgresUnavailableReason,
  type ScratchDatabase,
} from '../../tests/support/postgres.ts';
import { openDatabase, type DatabaseHandle } from '../db/connect.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { getDraft, listDrafts, removeDraft, saveDraft, type DraftsDeps } from './service.ts';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'megilance-drafts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const postgresSkip = await postgresUnavailableReason();

describe.each([
  { engine: 'sqlite' as const, skip: null },
  { engine: 'postgres' as const, skip: postgresSkip },
])('drafts on $engine', ({ engine, skip }) => {
  let scratch: ScratchDatabase | undefined;
  let handle: DatabaseHandle;
  let clock = Date.UTC(2026, 4, 1, 12);
  let deps: DraftsDeps;

  beforeAll(async () => {
    if (skip !== null) return;
    if (engine === 'postgres') scratch = await createScratchDatabase();
    handle =
      engine === 'sqlite'
        ? openDatabase({ engine, file: join(dir, `${crypto.randomUUID()}.sqlite`) }, logger, 1_000)
        : openDatabase({ engine, url: scratch!.url }, logger, 1_000);
    await migrateToLatest(handle.db, engine);
    deps = { db: handle.db, now: () => (clock += 1_000) };
  });
  afterAll(async () => {
    if (skip !== null) return;
    await handle.close();
    await scratch?.drop();
  });

  async function newUser(): Promise<string> {
    const id = crypto.randomUUID();
    await sql`insert into users (id, email, email_normalized, display_name, created_at, updated_at)
      values (${id}, ${`${id}@example.com`}, ${`${id}@example.com`}, ${'User'}, ${clock}, ${clock})`.execute(handle.db);
    return id;
  }
  const save = (userId: string, input: Omit<SaveDraftInput, 'kind'> & Partial<Pick<SaveDraftInput, 'kind'>>) =>
    saveDraft(deps, userId, saveDraftInput.parse({ kind: 'note', ...input }));
  const remove = (userId: string, input: RemoveDraftInput) => removeDraft(deps, userId, removeDraftInput.parse(input));
  const list = (userId: string, input: ListDraftsInput = {}) => listDrafts(deps, userId, listDraftsInput.parse(input));
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a refusal');
      },
      (error: unknown) => {
        if (!(error instanceof AppError)) throw error;
        return { code: error.code, details: error.details };
      },
    );

  it.skipIf(skip !== null)('creates at version 1, updates on the current version, reads back', async () => {
    const ada = await newUser();
    const id = crypto.randomUUID();
    const created = await save(ada, {
      id,
      kind: 'proposal',
      subjectRef: 'job:42',
      title: 'Hi',
      body: 'v1',
      baseVersion: 0,
    });
    expect(created).toMatchObject({ id, kind: 'proposal', subjectRef: 'job:42', title: 'Hi', body: 'v1', version: 1 });
    expect(created.createdAt).toBeInstanceOf(Date);
    const updated = await save(ada, { id, kind: 'proposal', title: 'Hi', body: 'v2', baseVersion: 1 });
    expect(updated).toMatchObject({ version: 2, body: 'v2', subjectRef: null, createdAt: created.createdAt });
    expect(updated.updatedAt.getTime()).toBeGreaterThan(created.updatedAt.getTime());
    expect(await getDraft(deps, ada, id)).toEqual(updated);
  });

  it.skipIf(skip !== null)('refuses a stale base version with CONFLICT and the current version', async () => {
    const ada = await newUser();
    const id = crypto.randomUUID();
    await save(ada, { id, title: 't', body: 'one', baseVersion: 0 });
    await save(ada, { id, title: 't', body: 'two', baseVersion: 1 });
    expect(await refusal(save(ada, { id, title: 't', body: 'stale', baseVersion: 1 }))).toEqual({
      code: 'CONFLICT',
      details: { currentVersion: 2, removed: false },
    });
    // Creating an id that exists is a conflict too, never an overwrite.
    expect(await refusal(save(ada, { id, title: 't', body: 'new?', baseVersion: 0 }))).toMatchObject({
      details: { currentVersion: 2 },
    });
    expect((await getDraft(deps, ada, id)).body).toBe('two');
  });

  it.skipIf(skip !== null)('applies a keyed save once; a replay answers the first result', async () => {
    const ada = await newUser();
    const id = crypto.randomUUID();
    const key = crypto.randomUUID();
    const first = await save(ada, { id, title: 't', body: 'once', baseVersion: 0, idempotencyKey: key });
    // The replay would conflict (base 0, current 1) if it ran again: it does not run.
    const replay = await save(ada, { id, title: 't', body: 'once', baseVersion: 0, idempotencyKey: key });
    expect(replay).toEqual(first);
    expect((await getDraft(deps, ada, id)).version).toBe(1);
    expect(await refusal(save(ada, { id, title: 't', body: 'twice', baseVersion: 0, idempotencyKey: key }))).toEqual({
      code: 'VALIDATION_FAILED',
      details: { reason: 'idempotency_key_reused' },
    });
  });

  it.skipIf(skip !== null)(
    'removes idempotently, keeps counting versions, and recreates on the removed version',
    async () => {
      const ada = await newUser();
      const id = crypto.randomUUID();
      await save(ada, { id, title: 'secret title', body: 'secret body', baseVersion: 0 });
      expect(await refusal(remove(ada, { id, baseVersion: 0 }))).toMatchObject({ code: 'CONFLICT' });
      expect(await remove(ada, { id, baseVersion: 1 })).toEqual({ id, removed: true, version: 2 });
      expect(await remove(ada, { id })).toEqual({ id, removed: false, version: 2 });
      expect(await refusal(getDraft(deps, ada, id))).toMatchObject({ code: 'NOT_FOUND' });
      expect((await list(ada)).items).toEqual([]);
      // The text is gone from the database, not only hidden.
      const row = await sql<{ title: string; body: string }>`select title, body from drafts where id = ${id}`.execute(
        handle.db,
      );
      expect(row.rows).toEqual([{ title: '', body: '' }]);
      // An offline edit made before the removal conflicts, saying it was removed.
      expect(await refusal(save(ada, { id, title: 't', body: 'late edit', baseVersion: 1 }))).toEqual({
        code: 'CONFLICT',
        details: { currentVersion: 2, removed: true },
      });
      const revived = await save(ada, { id, title: 't', body: 'back', baseVersion: 2 });
      expect(revived).toMatchObject({ version: 3, body: 'back' });
      expect(await remove(ada, { id: crypto.randomUUID() })).toMatchObject({ removed: false, version: 0 });
    },
  );

  it.skipIf(skip !== null)("keeps each user's drafts their own, even under the same id", async () => {
    const ada = await newUser();
    const grace = await newUser();
    const id = crypto.randomUUID();
    await save(ada, { id, title: "Ada's", body: 'hers', baseVersion: 0 });
    expect(await refusal(getDraft(deps, grace, id))).toMatchObject({ code: 'NOT_FOUND' });
    expect((await list(grace)).items).toEqual([]);
    // Grace "updating" Ada's id sees no draft there (version 0) and cannot touch Ada's.
    expect(await refusal(save(grace, { id, title: 'x', body: 'overwrite', baseVersion: 1 }))).toEqual({
      code: 'CONFLICT',
      details: { currentVersion: 0, removed: true },
    });
    expect(await remove(grace, { id })).toMatchObject({ removed: false });
    // The same id in Grace's namespace is simply her own draft.
    expect(await save(grace, { id, title: "Grace's", body: 'mine', baseVersion: 0 })).toMatchObject({ version: 1 });
    expect(await getDraft(deps, ada, id)).toMatchObject({ title: "Ada's", body: 'hers', version: 1 });
  });

  it.skipIf(skip !== null)('lists newest change first, by kind, a page at a time', async () => {
    const ada = await newUser();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = crypto.randomUUID();
      ids.push(id);
      await save(ada, { id, kind: i % 2 === 0 ? 'message' : 'note', title: `#${i}`, body: '', baseVersion: 0 });
    }
    const first = await list(ada, { limit: 2 });
    expect(first.items.map((d) => d.title)).toEqual(['#4', '#3']);
    const second = await list(ada, { limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((d) => d.title)).toEqual(['#2', '#1']);
    const third = await list(ada, { limit: 2, cursor: second.nextCursor! });
    expect(third).toEqual({ items: [expect.objectContaining({ title: '#0' })], nextCursor: null });
    expect((await list(ada, { kind: 'message' })).items.map((d) => d.title)).toEqual(['#4', '#2', '#0']);
  });

  it.skipIf(skip !== null)('lets exactly one of two concurrent creates of the same id win', async () => {
    const ada = await newUser();
    const id = crypto.randomUUID();
    const outcomes = await Promise.allSettled([
      save(ada, { id, title: 'a', body: 'from laptop', baseVersion: 0 }),
      save(ada, { id, title: 'b', body: 'from phone', baseVersion: 0 }),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const rejected = outcomes.find((o) => o.status === 'rejected');
    expect(rejected?.reason).toMatchObject({ code: 'CONFLICT', details: { currentVersion: 1 } });
  });
});
