/**
 * Watermark arithmetic: the watermark of a shard is the highest seq such that
 * every seq up to it has been applied. Applied ranges above it wait until the
 * gap below them fills (messages arrive in any order).
 */
export interface SeqRange {
  fromSeq: number;
  toSeq: number;
}

export function advanceWatermark(watermark: number, ranges: SeqRange[]): number {
  let w = watermark;
  const sorted = [...ranges].sort((a, b) => a.fromSeq - b.fromSeq);
  for (const r of sorted) {
    if (r.fromSeq > w + 1) break;
    w = Math.max(w, r.toSeq);
  }
  return w;
}

/** The shard's watermark as the meta index database has it (0 if none yet). */
export async function readWatermark(meta: D1Database, shard: number): Promise<number> {
  const row = await meta.prepare(`SELECT applied_seq FROM watermarks WHERE shard = ?`).bind(shard).first<{ applied_seq: number }>();
  return row?.applied_seq ?? 0;
}

/** Watermarks of several shards at once (read-your-writes checks). */
export async function readWatermarks(meta: D1Database, shards: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>(shards.map((s) => [s, 0]));
  if (shards.length === 0) return out;
  const { results } = await meta
    .prepare(`SELECT shard, applied_seq FROM watermarks WHERE shard IN (${shards.map(() => "?").join(",")})`)
    .bind(...shards)
    .all<{ shard: number; applied_seq: number }>();
  for (const r of results) out.set(r.shard, r.applied_seq);
  return out;
}
