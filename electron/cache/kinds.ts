/**
 * What the local cache may hold: one typed list of record kinds, so a record
 * of an unknown kind, or one whose payload does not fit its kind, is refused
 * when it is stored, not discovered when it is read.
 *
 * Record kinds are the things a user reads offline. Each has a payload schema
 * (JSON only: instants are epoch milliseconds) and a version: when a kind's
 * shape changes, bump its version and the cache drops that kind's records on
 * the next open (it is a cache; the server has them). The marketplace, calls
 * and messaging domains do not exist yet: their kinds take any JSON object
 * until those domains add their schemas and this file uses them.
 *
 * Collections are ordered lists of one kind (the drafts list, a thread's
 * messages, the jobs feed), read highest sort key first.
 *
 * This module is loaded by the cache worker, so it uses `zod/mini` and
 * imports no runtime code from shared/ (whose schemas use classic zod, which
 * would add ~25 ms to every cold open: see bench/cache-open.ts).
 */
import * as z from 'zod/mini';
import type { DraftKind } from '../../shared/drafts.ts';

const epochMs = z.int().check(z.minimum(0));

/** Any JSON object: the payload of kinds whose domain has no schema yet. */
const plannedPayload = z.record(z.string(), z.json());

/** shared/drafts.ts's `draftKinds`, restated (see the header); the type checks keep the two lists equal. */
const draftKinds = ['message', 'proposal', 'note'] as const satisfies readonly DraftKind[];
const _everyDraftKind: (typeof draftKinds)[number] extends DraftKind
  ? DraftKind extends (typeof draftKinds)[number]
    ? true
    : never
  : never = true;

export interface CacheKindDefinition {
  /** Bump when the payload's shape changes: cached records of older versions are dropped. */
  version: number;
  payload: z.ZodMiniType<Record<string, unknown>>;
}

export const cacheKinds = {
  /** The signed-in user (`auth.me`); id `me`. */
  profile: {
    version: 1,
    payload: z.object({
      id: z.string(),
      email: z.string(),
      displayName: z.string(),
      emailVerified: z.boolean(),
      createdAt: epochMs,
    }),
  },
  /** `drafts.get` / `drafts.list`, with instants as epoch ms. */
  draft: {
    version: 1,
    payload: z.object({
      id: z.string(),
      kind: z.enum(draftKinds),
      subjectRef: z.nullable(z.string()),
      title: z.string(),
      body: z.string(),
      version: z.int().check(z.minimum(0)),
      createdAt: epochMs,
      updatedAt: epochMs,
    }),
  },
  job: { version: 1, payload: plannedPayload },
  proposal: { version: 1, payload: plannedPayload },
  contract: { version: 1, payload: plannedPayload },
  milestone: { version: 1, payload: plannedPayload },
  thread: { version: 1, payload: plannedPayload },
  message: { version: 1, payload: plannedPayload },
  call: { version: 1, payload: plannedPayload },
} as const satisfies Record<string, CacheKindDefinition>;

export type CacheKind = keyof typeof cacheKinds;
export const cacheKindNames = Object.keys(cacheKinds) as [CacheKind, ...CacheKind[]];
export type CachePayload<K extends CacheKind> = z.output<(typeof cacheKinds)[K]['payload']>;

/** An ordered list of records of one kind. */
export interface CollectionRef<K extends CacheKind = CacheKind> {
  name: string;
  kind: K;
}

/**
 * The lists the app keeps. Sort keys: instants for "newest first" lists;
 * for lists the server orders (a ranked feed), minus the position.
 */
export const cacheCollections = {
  drafts: (): CollectionRef<'draft'> => ({ name: 'drafts', kind: 'draft' }),
  jobsFeed: (): CollectionRef<'job'> => ({ name: 'jobs:feed', kind: 'job' }),
  myProposals: (): CollectionRef<'proposal'> => ({ name: 'proposals:mine', kind: 'proposal' }),
  contracts: (): CollectionRef<'contract'> => ({ name: 'contracts', kind: 'contract' }),
  contractMilestones: (contractId: string): CollectionRef<'milestone'> => ({
    name: `contract:${contractId}:milestones`,
    kind: 'milestone',
  }),
  threads: (): CollectionRef<'thread'> => ({ name: 'threads', kind: 'thread' }),
  threadMessages: (threadId: string): CollectionRef<'message'> => ({
    name: `thread:${threadId}:messages`,
    kind: 'message',
  }),
  callHistory: (): CollectionRef<'call'> => ({ name: 'calls:history', kind: 'call' }),
};

/** Which record a queued write changes; writes to the same entity are replayed in order, each on the last. */
export interface EntityRef {
  kind: CacheKind;
  id: string;
}
