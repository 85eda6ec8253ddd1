/**
 * Drives composite index builds from the queue: the consumer declares its
 * config's indexes once per isolate and, while anything is building, keeps a
 * backfill message going around (each handles a bounded number of documents
 * per index database, then sends the next). A watchdog re-sends it if the
 * builds stop making progress (the message dead-lettered, or a local queue
 * was lost on restart).
 */
import { backfillStep } from "../index/backfill";
import { claimStalledBuilds, ensureIndexBuilds } from "../index/builds";
import type { IndexConfig } from "../index/config-types";
import { ownIndexConfig } from "./apply-changes";

/** Documents per index database that one backfill message processes. */
export const BACKFILL_DOCS_PER_MESSAGE = 500;
/** A build with no progress for this long gets a new backfill message. */
export const BACKFILL_STALL_MS = 5 * 60_000;

export interface BackfillDeps {
  dbs: D1Database[];
  indexConfig: IndexConfig;
  /** Sends a backfill message to the change queue. */
  requestBackfill(): Promise<void>;
  /** Overrides BACKFILL_DOCS_PER_MESSAGE (tests). */
  backfillDocsPerMessage?: number;
}

// Per isolate and config: when the builds were last declared or checked.
// A new deployment is a new isolate, so its config is declared on first use.
const checkedAt = new WeakMap<IndexConfig, number>();

/**
 * Called on every queue batch; cheap except once per isolate (declare the
 * config's indexes) and once per BACKFILL_STALL_MS (look for stalled builds).
 * Starts the backfill when there is work and no message is carrying it.
 */
export async function superviseIndexBuilds(deps: BackfillDeps, now = Date.now()): Promise<void> {
  const last = checkedAt.get(deps.indexConfig);
  if (last !== undefined && now - last < BACKFILL_STALL_MS) return;
  checkedAt.set(deps.indexConfig, now);
  // One chain per piece of work, not one per isolate or per query that met
  // a building index: only the call that claims the work in D1 sends.
  let kick = false;
  if (last === undefined) {
    try {
      // Take the index over for this config first: builds declared after it
      // are finished only while no consumer of an older config can write.
      const hash = await ownIndexConfig(deps);
      for (const db of deps.dbs) kick = (await ensureIndexBuilds(db, deps.indexConfig, hash)).claimed || kick;
    } catch (e) {
      checkedAt.delete(deps.indexConfig); // the next batch declares them again
      throw e;
    }
  }
  const before = new Date(now - BACKFILL_STALL_MS).toISOString();
  const stamp = new Date(now).toISOString();
  for (const db of deps.dbs) kick = (await claimStalledBuilds(db, before, stamp)) || kick;
  if (kick) await deps.requestBackfill();
}

/** One backfill step on every index database; sends the next message unless all are done. Returns done. */
export async function runBackfill(deps: BackfillDeps): Promise<boolean> {
  let done = true;
  const hash = await ownIndexConfig(deps);
  for (const db of deps.dbs) {
    const step = await backfillStep(db, deps.indexConfig, deps.backfillDocsPerMessage ?? BACKFILL_DOCS_PER_MESSAGE, hash);
    done = step.done && done;
  }
  if (!done) await deps.requestBackfill();
  return done;
}
