/**
 * Garbage collection of what grows with every write (docs/reliability.md,
 * "Garbage collection"). Run by the Worker's cron trigger (wrangler.toml
 * `[triggers]`, engine/worker.ts `scheduled`) and by POST /v1/admin/gc.
 * Each run does a bounded amount of work; the next run continues.
 *
 * - D1 tombstones older than the retention, and only those at or below their
 *   shard's watermark. Why that keeps deleted documents deleted: a tombstone
 *   exists to stop an older change of its document, re-delivered late, from
 *   writing the document again. The consumer drops every change whose seq
 *   the index already holds before it builds a statement (applyMessages:
 *   readAppliedStates), and a shard's watermark never goes down. Every older
 *   change of the document has a lower seq than the tombstone, so once the
 *   watermark has passed the tombstone they are all dropped forever, and the
 *   tombstone stops nothing. Everything else that writes documents applies
 *   the shard's current state (by-reference fetches, quarantine replays,
 *   verifier repairs: all at least as new as the delete).
 * - The shards' change logs: changes older than the retention, as a prefix
 *   of the log and never an outbox row (a change the index may still lack).
 *   A resume token older than what is left gets a fresh snapshot flagged as
 *   such (engine/shard/doc-listeners.ts), as it does past the 10,000-change
 *   window.
 * - `applied_ranges`: every shard's rows are folded into its watermark
 *   (compaction otherwise waits for 32 of them).
 * - `dead_letters` replayed longer ago than the retention (ones never
 *   replayed stay for the operator).
 * `index_builds` keeps one row per declared index (a dropped index's row
 * goes when its entries are gone), so it has nothing to collect.
 */
import { sql } from "drizzle-orm";
import { prepare, runBatch } from "../index/d1";
import { compactStatements, readAppliedStates } from "./watermarks";

/** Default retention of tombstones, change-log rows and replayed dead letters. */
export const DEFAULT_RETENTION_DAYS = 7;
/** Tombstones deleted per statement, and statements per database per run (bounded work; the next run continues). */
const TOMBSTONES_PER_STATEMENT = 5000;
const TOMBSTONE_ROUNDS = 10;
const DAY_MS = 86_400_000;

export interface GcDeps {
  dbs: D1Database[];
  shardIds: number[];
  retentionMs: number;
  /** Has a shard drop its change-log rows older than `before` (ms epoch); how many went. */
  trimShardLog(shard: number, before: number): Promise<number>;
}

export interface GcResult {
  tombstones: number;
  changeLogRows: number;
  appliedRanges: number;
  deadLetters: number;
  /** Shards whose log could not be trimmed this time (they are tried again next run). */
  failedShards: number[];
}

/** GC_RETENTION_DAYS (fractional days allowed), else DEFAULT_RETENTION_DAYS. */
export function retentionMs(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return DEFAULT_RETENTION_DAYS * DAY_MS;
  const days = Number(raw);
  if (!Number.isFinite(days) || days <= 0) throw new Error(`GC_RETENTION_DAYS must be a positive number of days, not ${JSON.stringify(raw)}`);
  return days * DAY_MS;
}

export async function collectGarbage(deps: GcDeps, now = Date.now()): Promise<GcResult> {
  const cutoff = new Date(now - deps.retentionMs).toISOString();
  const result: GcResult = { tombstones: 0, changeLogRows: 0, appliedRanges: 0, deadLetters: 0, failedShards: [] };
  const meta = deps.dbs[0];
  const marks = await readAppliedStates(meta, deps.shardIds);

  // Watermarks as a JSON array indexed by shard: a tombstone of a shard not in it compares with NULL and stays.
  const byShard: number[] = [];
  for (const [shard, m] of marks) byShard[shard] = m.watermark;
  const watermarks = JSON.stringify(Array.from(byShard, (w) => w ?? 0));
  for (const db of deps.dbs) {
    for (let round = 0; round < TOMBSTONE_ROUNDS; round++) {
      const r = await prepare(
        db,
        sql`DELETE FROM tombstones WHERE rowid IN (SELECT rowid FROM tombstones
          WHERE delete_time < ${cutoff} AND seq <= json_extract(${watermarks}, '$[' || shard || ']') LIMIT ${TOMBSTONES_PER_STATEMENT})`,
      ).run();
      const n = r.meta?.changes ?? 0;
      result.tombstones += n;
      if (n < TOMBSTONES_PER_STATEMENT) break;
    }
  }

  const fold = [...marks].filter(([, m]) => m.ranges > m.above.length);
  if (fold.length > 0) {
    const before = fold.reduce((n, [, m]) => n + m.ranges, 0);
    await runBatch(meta, fold.flatMap(([shard, m]) => compactStatements(shard, m, new Date(now).toISOString())));
    const after = await readAppliedStates(meta, fold.map(([shard]) => shard));
    result.appliedRanges = before - [...after.values()].reduce((n, m) => n + m.ranges, 0);
  }

  const dead = await prepare(meta, sql`DELETE FROM dead_letters WHERE replayed_at IS NOT NULL AND replayed_at < ${cutoff}`).run();
  result.deadLetters = dead.meta?.changes ?? 0;

  const trimmed = await Promise.allSettled(deps.shardIds.map((shard) => deps.trimShardLog(shard, now - deps.retentionMs)));
  trimmed.forEach((t, i) => {
    if (t.status === "fulfilled") result.changeLogRows += t.value;
    else {
      result.failedShards.push(deps.shardIds[i]);
      console.error(`blaze gc: could not trim shard ${deps.shardIds[i]}'s change log: ${t.reason}`);
    }
  });
  return result;
}
