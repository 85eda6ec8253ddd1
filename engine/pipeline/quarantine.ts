/**
 * Quarantine: a change the index can never take must not hold its shard's
 * watermark (and every later change of the shard) back for good, nor be
 * re-sent forever. When a message has failed on its own
 * QUARANTINE_AFTER_ATTEMPTS times, the consumer bisects it to the changes
 * that fail alone, records each in D1's `quarantined` table with its reason
 * and counts its seq as applied (same D1 batch as the rest of the message),
 * so the watermark moves past it and the outbox frees it. The document stays
 * right in its shard; the index lacks it (or holds an older version) until a
 * replay applies the document's current state, version-checked like any
 * change, and deletes the row.
 *
 * A failure that is not the change's fault is never quarantined: a shard or
 * D1 that is unavailable, a shard that has no record of the document, or
 * (when every change of the message fails) an index database that fails a
 * probe; those keep going round the queue and the dead-letter queue, and the
 * outbox sends them again.
 *
 * Replay is explicit (POST /v1/admin/replay-quarantined), as a dead-letter
 * redrive is: a change that failed deterministically fails again until an
 * operator has fixed the cause (a deploy, a data change), and a replay then
 * repairs every gap at once. A replay of a document that has since been
 * written and indexed is a version-checked no-op that clears the gap.
 */
import { sql } from "drizzle-orm";
import { BlazeError } from "../core/errors";
import type { Change } from "../core/writes";
import { jsonChunks, latestPerPath } from "../index/apply";
import { all, prepare } from "../index/d1";
import { runGuarded } from "../index/config-owner";
import { describeError, ownIndexConfig, resolveChanges, statementsByDb, type ConsumerDeps } from "./apply-changes";
import { applyCurrent } from "./apply-current";
import type { ChangeMessage } from "./messages";

/** Deliveries of a message that failed on its own before its poison is quarantined (the queue allows 6). */
export const QUARANTINE_AFTER_ATTEMPTS = 3;
/** Documents one replay call repairs (each is a shard fetch and a D1 batch; D1 allows 1,000 queries per invocation). */
export const REPLAY_BATCH = 50;
/**
 * D1 batches one bisection may run. Each is about ten queries and D1 allows
 * 1,000 per invocation; a message of 200 changes that all fail would take
 * 399. Past it, the changes of a group that failed together are quarantined
 * together (a replay then tries each alone), so the message still moves on.
 */
export const BISECT_MAX_BATCHES = 48;
/** A reason is kept to this many characters. */
const MAX_REASON_CHARS = 1000;

export interface Poison {
  change: Change;
  reason: string;
}

/** What to quarantine while applying a message: its poison, and how often it was delivered. */
export interface Quarantine {
  poison: Poison[];
  attempts: number;
}

/**
 * Finds the changes of a failing message that fail on their own, or null when
 * the failure is not theirs (then the message is retried as before). Applying
 * the changes that succeed here is harmless: every statement is idempotent
 * and version-checked, and the message's run is recorded only afterwards.
 */
export async function quarantineFor(message: ChangeMessage, attempts: number, deps: ConsumerDeps): Promise<Quarantine | null> {
  const newest = latestPerPath(message.changes);
  let poison: Poison[];
  try {
    poison = await bisect(newest, deps, { left: BISECT_MAX_BATCHES });
  } catch (e) {
    if (notQuarantinable(e)) return null;
    throw e;
  }
  // Everything failed: the index itself may be broken (a missing table), not the changes.
  if (poison.length === newest.length && !(await indexHealthy(deps))) return null;
  return { poison, attempts };
}

/** Applies changes; on failure splits them in halves, down to the changes that fail alone (within the budget). */
async function bisect(changes: Change[], deps: ConsumerDeps, budget: { left: number }, failedWith = ""): Promise<Poison[]> {
  if (budget.left <= 0) {
    const reason = `${failedWith} (one of ${changes.length} changes that failed together; not tried alone)`;
    return changes.map((change) => ({ change, reason: reason.slice(0, MAX_REASON_CHARS) }));
  }
  budget.left--;
  try {
    const hash = await ownIndexConfig(deps);
    const resolved = await resolveChanges(changes, deps);
    for (const [i, statements] of statementsByDb(resolved, deps)) await runGuarded(deps.dbs[i], hash, statements);
    return [];
  } catch (e) {
    if (notQuarantinable(e)) throw e;
    const reason = describeError(e).slice(0, MAX_REASON_CHARS);
    if (changes.length === 1) return [{ change: changes[0], reason }];
    const mid = changes.length >> 1;
    return [...(await bisect(changes.slice(0, mid), deps, budget, reason)), ...(await bisect(changes.slice(mid), deps, budget, reason))];
  }
}

/**
 * Not the change's fault: a shard or D1 that could not serve the call
 * (retrying is the cure), or a shard with no record of the document (the
 * message is not a change it made: recording its seq as applied would hide
 * a real change later; it goes to the dead-letter queue instead).
 */
function notQuarantinable(e: unknown): boolean {
  return e instanceof BlazeError && (e.code === "UNAVAILABLE" || e.code === "RESOURCE_EXHAUSTED" || e.code === "NOT_FOUND");
}

/** Every index database answers and has the tables the consumer writes. */
async function indexHealthy(deps: ConsumerDeps): Promise<boolean> {
  try {
    await Promise.all(
      deps.dbs.map((db, i) =>
        prepare(
          db,
          i === 0
            ? sql`SELECT 1 FROM documents, tombstones, index_entries, composite_entries, applied_ranges, quarantined LIMIT 0`
            : sql`SELECT 1 FROM documents, tombstones, index_entries, composite_entries LIMIT 0`,
        ).all(),
      ),
    );
    return true;
  } catch {
    return false;
  }
}

/** Statements (meta database) that record a message's poison. */
export function quarantineStatements(q: Quarantine, now: string) {
  const rows = q.poison.map((p) => [p.change.shard, p.change.seq, p.change.path, p.reason, q.attempts, now]);
  return jsonChunks(rows).map(
    (chunk) => sql`INSERT OR REPLACE INTO quarantined (shard, seq, path, reason, attempts, at)
      SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5 FROM json_each(${chunk}) AS j`,
  );
}

export interface ReplayResult {
  /** Documents whose current state is now in the index (their gaps are closed). */
  repaired: number;
  /** Documents that failed again, with why; they stay quarantined. */
  failed: { shard: number; path: string; reason: string }[];
  /** Quarantined changes left (more than one call's worth, or failed). */
  left: number;
}

/**
 * Re-applies the current state of quarantined documents from their shards
 * (up to REPLAY_BATCH documents per call), oldest gap first.
 */
export async function replayQuarantined(deps: ConsumerDeps, opts: { shard?: number } = {}): Promise<ReplayResult> {
  const meta = deps.dbs[0];
  const where = opts.shard === undefined ? sql`` : sql`WHERE shard = ${opts.shard}`;
  const docs = await all<{ shard: number; path: string }>(
    meta,
    sql`SELECT shard, path FROM quarantined ${where} GROUP BY shard, path ORDER BY MIN(at) LIMIT ${REPLAY_BATCH}`,
  );
  const result: ReplayResult = { repaired: 0, failed: [], left: 0 };
  for (const d of docs) {
    try {
      const current = await deps.fetchChange(d.shard, d.path);
      // Gaps up to the version applied are closed (in the meta database's batch, after the others); a newer quarantined change stays.
      const close = sql`DELETE FROM quarantined WHERE shard = ${d.shard} AND path = ${d.path} AND seq <= ${current.seq}`;
      await applyCurrent(deps, [current], { extra: new Map([[0, [close]]]) });
      result.repaired++;
    } catch (e) {
      const reason = describeError(e).slice(0, MAX_REASON_CHARS);
      result.failed.push({ ...d, reason });
      await prepare(
        meta,
        sql`UPDATE quarantined SET attempts = attempts + 1, reason = ${reason}, at = ${new Date().toISOString()}
          WHERE shard = ${d.shard} AND path = ${d.path}`,
      ).run();
    }
  }
  const [left] = await all<{ n: number }>(meta, sql`SELECT COUNT(*) AS n FROM quarantined ${where}`);
  result.left = left?.n ?? 0;
  return result;
}

/** Quarantined changes per shard (GET /v1/status). */
export async function quarantinedPerShard(meta: D1Database): Promise<Map<number, number>> {
  const rows = await all<{ shard: number; n: number }>(meta, sql`SELECT shard, COUNT(*) AS n FROM quarantined GROUP BY shard`);
  return new Map(rows.map((r) => [r.shard, r.n]));
}
