/**
 * Watermarks: a shard's watermark is the highest seq such that every seq up
 * to it has been applied to the index. The consumer records each message's
 * seq run in `applied_ranges` (in the same D1 batch as the index writes);
 * the watermark is the stored `watermarks.applied_seq` advanced over those
 * runs. Folding runs into the stored value and merging the runs above it
 * (compaction) is deferred until it would remove COMPACT_AFTER_RANGES rows,
 * which saves a D1 round trip per queue batch; readers always compute the
 * watermark, so nothing waits for it.
 */
import { sql, type SQL } from "drizzle-orm";
import { all } from "../index/d1";

export interface SeqRange {
  fromSeq: number;
  toSeq: number;
}

/** Rows of a shard's runs that compaction must be able to remove before it runs. */
export const COMPACT_AFTER_RANGES = 32;

export function advanceWatermark(watermark: number, ranges: SeqRange[]): number {
  let w = watermark;
  const sorted = [...ranges].sort((a, b) => a.fromSeq - b.fromSeq);
  for (const r of sorted) {
    if (r.fromSeq > w + 1) break;
    w = Math.max(w, r.toSeq);
  }
  return w;
}

/** Rows of the stored watermarks ('w') and applied runs ('r') of some shards. */
export interface WatermarkRow {
  k: "w" | "r";
  shard: number;
  from_seq: number;
  to_seq: number;
}

export function watermarkRowsQuery(shards: number[]): SQL {
  // Shard numbers are integers, written as literals: any number of shards
  // fits one statement (bound parameters are capped at 100).
  if (!shards.every((s) => Number.isSafeInteger(s) && s >= 0)) throw new Error(`bad shard numbers ${shards}`);
  const list = sql.raw(shards.join(", "));
  return sql`SELECT 'w' AS k, shard, applied_seq AS from_seq, applied_seq AS to_seq FROM watermarks WHERE shard IN (${list})
    UNION ALL
    SELECT 'r' AS k, shard, from_seq, to_seq FROM applied_ranges WHERE shard IN (${list})`;
}

/** What the index holds of one shard: every seq up to `watermark`, and the runs above it. */
export interface AppliedState {
  watermark: number;
  /** Applied runs above the watermark, sorted, merged, none touching the watermark. */
  above: SeqRange[];
}

export interface ShardWatermark extends AppliedState {
  /** What `watermarks.applied_seq` holds. */
  stored: number;
  /** How many runs are recorded for the shard. */
  ranges: number;
}

export function watermarksFromRows(rows: WatermarkRow[], shards: number[]): Map<number, ShardWatermark> {
  const out = new Map<number, ShardWatermark>();
  for (const shard of shards) {
    const stored = rows.find((r) => r.k === "w" && r.shard === shard)?.to_seq ?? 0;
    const ranges = rows.filter((r) => r.k === "r" && r.shard === shard).map((r) => ({ fromSeq: r.from_seq, toSeq: r.to_seq }));
    const watermark = advanceWatermark(stored, ranges);
    out.set(shard, { watermark, above: mergeAbove(watermark, ranges), stored, ranges: ranges.length });
  }
  return out;
}

function mergeAbove(watermark: number, ranges: SeqRange[]): SeqRange[] {
  const merged: SeqRange[] = [];
  for (const r of [...ranges].sort((a, b) => a.fromSeq - b.fromSeq)) {
    if (r.toSeq <= watermark) continue;
    const from = Math.max(r.fromSeq, watermark + 1);
    const last = merged[merged.length - 1];
    if (last && from <= last.toSeq + 1) last.toSeq = Math.max(last.toSeq, r.toSeq);
    else merged.push({ fromSeq: from, toSeq: r.toSeq });
  }
  return merged;
}

/** Whether every seq of `fromSeq..toSeq` is already in the index. */
export function isApplied(state: AppliedState, fromSeq: number, toSeq: number): boolean {
  if (toSeq <= state.watermark) return true;
  const from = Math.max(fromSeq, state.watermark + 1);
  return state.above.some((r) => r.fromSeq <= from && toSeq <= r.toSeq);
}

/**
 * How many seqs the index holds: the watermark plus the runs above it. It
 * grows whenever anything new is applied, even while a lost message holds the
 * watermark back, so it tells a working consumer from a stalled one.
 */
export function appliedCount(state: AppliedState): number {
  return state.above.reduce((n, r) => n + r.toSeq - r.fromSeq + 1, state.watermark);
}

/** The highest seq the index holds (0 when none). */
export function highestApplied(state: AppliedState): number {
  return state.above.length > 0 ? state.above[state.above.length - 1].toSeq : state.watermark;
}

/**
 * Whether a shard's runs are worth compacting: once COMPACT_AFTER_RANGES of
 * its rows would go. Rows at or below the watermark fold into it; rows above
 * it merge into one per run between gaps, so `applied_ranges` stays bounded
 * by the gaps (changes whose messages are still out) even while a lost
 * message holds the watermark back and every later message adds a row.
 */
export function shouldCompact(m: ShardWatermark): boolean {
  return m.ranges - m.above.length >= COMPACT_AFTER_RANGES;
}

/**
 * Statements that fold a shard's applied runs into its stored watermark and
 * merge the runs above it. Safe against a concurrent consumer: a row is
 * deleted only when the watermark or a merged run (both read from applied
 * rows) covers it, and the merged runs are written in the same batch.
 */
export function compactStatements(shard: number, m: AppliedState, now: string): SQL[] {
  const runs = JSON.stringify(m.above.map((r) => [r.fromSeq, r.toSeq]));
  return [
    sql`INSERT INTO watermarks (shard, applied_seq, updated_at) VALUES (${shard}, ${m.watermark}, ${now})
      ON CONFLICT(shard) DO UPDATE SET applied_seq = MAX(applied_seq, excluded.applied_seq), updated_at = excluded.updated_at`,
    sql`DELETE FROM applied_ranges WHERE shard = ${shard} AND (to_seq <= ${m.watermark} OR EXISTS (
      SELECT 1 FROM json_each(${runs}) AS j WHERE applied_ranges.from_seq >= j.value ->> 0 AND applied_ranges.to_seq <= j.value ->> 1))`,
    sql`INSERT OR IGNORE INTO applied_ranges (shard, from_seq, to_seq) SELECT ${shard}, j.value ->> 0, j.value ->> 1 FROM json_each(${runs}) AS j`,
  ];
}

/** Watermarks of several shards (read-your-writes, outbox acknowledgement). */
export async function readWatermarks(meta: D1Database, shards: number[]): Promise<Map<number, number>> {
  return new Map([...(await readAppliedStates(meta, shards))].map(([shard, w]) => [shard, w.watermark]));
}

export async function readWatermark(meta: D1Database, shard: number): Promise<number> {
  return (await readWatermarks(meta, [shard])).get(shard) ?? 0;
}

/** Applied states of several shards, in one query. */
export async function readAppliedStates(meta: D1Database, shards: number[]): Promise<Map<number, ShardWatermark>> {
  if (shards.length === 0) return new Map();
  return watermarksFromRows(await all<WatermarkRow>(meta, watermarkRowsQuery(shards)), shards);
}

export async function readAppliedState(meta: D1Database, shard: number): Promise<AppliedState> {
  return (await readAppliedStates(meta, [shard])).get(shard)!;
}
