/**
 * What the consumer, the quarantine and its replay share: the consumer's
 * dependencies, resolving changes to documents, and building each index
 * database's statements for them.
 */
import type { SQL } from "drizzle-orm";
import { parseDocumentPath } from "../core/paths";
import type { Change } from "../core/writes";
import { applyStatements, latestPerPath, type RepairMode, type ResolvedChange } from "../index/apply";
import { configHash, takeOverIndexConfig } from "../index/config-owner";
import type { IndexConfig } from "../index/config-types";
import { indexShardOf, type IndexTopology } from "../index/routing";
import type { NotifyLive } from "./live-notify";

export interface ConsumerDeps {
  topology: IndexTopology;
  dbs: D1Database[];
  /** The deployment's index config: composite indexes to maintain, fields exempt from indexing. */
  indexConfig: IndexConfig;
  /** Current state of a document in its shard, for changes sent by reference (and quarantine replays). */
  fetchChange(shard: number, path: string): Promise<ResolvedChange>;
  /** Tells a shard that the index has applied everything up to `watermark`. */
  notifyShard(shard: number, watermark: number): Promise<void>;
  /** Sends a backfill message to the change queue. */
  requestBackfill(): Promise<void>;
  /** Hands a live query the changes it may care about (engine/live/). Unset: no live queries. */
  notifyLive?: NotifyLive;
  /** Overrides the documents per index database one backfill message processes (tests). */
  backfillDocsPerMessage?: number;
}

export interface ConsumeOutcome {
  applied: number;
  /** Of the applied messages, those the index already held (acked without index statements). */
  duplicates: number;
  retried: number;
  rejected: number;
  /** Changes quarantined (given up on, recorded as gaps) in this batch. */
  quarantined: number;
  watermarks: Map<number, number>;
}

/**
 * Test hooks, unset in production: around each queue batch (a slow consumer,
 * counting deliveries, a consumer that fails), per change before its
 * statements are built (an index that refuses one document, for the
 * quarantine), and the dependencies a batch runs with (a D1 that fails for
 * a while, or fails after it applied: test/faults.pipeline.test.ts).
 */
export const consumerHooks: {
  beforeBatch: ((batch: MessageBatch<unknown>) => Promise<void>) | null;
  afterBatch: ((batch: MessageBatch<unknown>, outcome: ConsumeOutcome) => void) | null;
  checkChange: ((change: ResolvedChange) => void) | null;
  deps: ((deps: ConsumerDeps, batch: MessageBatch<unknown>) => ConsumerDeps) | null;
} = { beforeBatch: null, afterBatch: null, checkChange: null, deps: null };

/**
 * Keeps the newest change per path, then fetches by-reference documents:
 * only the newest version of a document matters, so a message with many
 * large changes to one document costs one fetch.
 */
export async function resolveChanges(changes: Change[], deps: ConsumerDeps): Promise<ResolvedChange[]> {
  return Promise.all(
    latestPerPath(changes).map((c) => (c.byRef ? deps.fetchChange(c.shard, c.path) : Promise.resolve(c as ResolvedChange))),
  );
}

/** Apply statements per index database (by position in `deps.dbs`); the meta database's may be empty. */
export function statementsByDb(changes: ResolvedChange[], deps: ConsumerDeps, repair?: RepairMode): Map<number, SQL[]> {
  const perDb = new Map<number, ResolvedChange[]>();
  for (const c of changes) {
    consumerHooks.checkChange?.(c);
    const i = indexDbOf(c, deps);
    const list = perDb.get(i);
    if (list) list.push(c);
    else perDb.set(i, [c]);
  }
  return new Map([...perDb].map(([i, cs]) => [i, applyStatements(cs, deps.indexConfig, repair)]));
}

/** The index database (position in `deps.dbs`) that holds a document's rows. */
export function indexDbOf(c: { path: string }, deps: Pick<ConsumerDeps, "topology">): number {
  return indexShardOf(deps.topology, parseDocumentPath(c.path).collectionId, c.path);
}

// Per config object, which is per isolate in production (the config is a module constant).
const owned = new WeakMap<IndexConfig, Promise<string>>();

/**
 * This isolate's claim on the index databases for its config: on first use
 * it takes every database over (a no-op when the config is already theirs;
 * the newest starter wins), then it is the hash that guards every batch
 * that writes the index (engine/index/config-owner.ts).
 */
export function ownIndexConfig(deps: { dbs: D1Database[]; indexConfig: IndexConfig }): Promise<string> {
  let claim = owned.get(deps.indexConfig);
  if (!claim) {
    claim = (async () => {
      const hash = await configHash(deps.indexConfig);
      for (const db of deps.dbs) await takeOverIndexConfig(db, hash);
      return hash;
    })();
    // A failed take-over is tried again by the next batch.
    claim.catch(() => owned.delete(deps.indexConfig));
    owned.set(deps.indexConfig, claim);
  }
  return claim;
}

export function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
