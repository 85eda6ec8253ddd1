/**
 * Replaying dead letters (POST /v1/admin/dlq/replay, `npm run blaze -- dlq
 * replay`). A message reaches the dead-letter queue after the consumer gave
 * up on it (CONSUMER_MAX_ATTEMPTS deliveries); the DLQ consumer records it in
 * `dead_letters` (engine/pipeline/consumer.ts). Nothing is lost meanwhile:
 * the shard's outbox keeps every change until the index has applied it and
 * sends it again once the index stops making progress on it. A replay does
 * not wait for that: for each recorded change message whose seqs the index
 * still lacks, the shard marks those outbox rows unsent and drains them now,
 * through the normal queue and consumer (version-checked, duplicates
 * dropped). The recorded body is not sent: it may be truncated, and the
 * outbox holds the changes as they are now. Backfill messages become one
 * new backfill request; a malformed message cannot be replayed.
 *
 * Each row is marked `replayed_at` once handled, so a second replay does
 * nothing, and resending an applied change would be dropped anyway.
 */
import { sql } from "drizzle-orm";
import { all, prepare } from "../index/d1";
import { isBackfillMessage } from "./messages";
import { isApplied, readAppliedStates } from "./watermarks";

/** Dead letters handled per call (each may be a shard call). */
export const DLQ_REPLAY_BATCH = 100;

export interface DeadLetterDeps {
  meta: D1Database;
  /** Has the shard send its outbox rows in `fromSeq..toSeq` again now; how many it holds. */
  resend(shard: number, fromSeq: number, toSeq: number): Promise<number>;
  requestBackfill(): Promise<void>;
}

export interface DlqReplayResult {
  /** Change messages whose changes were sent back into the pipeline. */
  replayed: number;
  /** Changes those shards sent again. */
  changes: number;
  /** Change messages the index had applied since (through the outbox's own resend). */
  alreadyApplied: number;
  /** Backfill messages (one new backfill request covers them). */
  backfills: number;
  /** Malformed messages: recorded for the operator, nothing to replay. */
  unreplayable: number;
  /** Dead letters not replayed yet (more than one call's worth). */
  left: number;
}

interface DeadLetterRow {
  id: number;
  shard: number | null;
  from_seq: number | null;
  to_seq: number | null;
  body: string;
}

export async function replayDeadLetters(deps: DeadLetterDeps, limit = DLQ_REPLAY_BATCH): Promise<DlqReplayResult> {
  const rows = await all<DeadLetterRow>(
    deps.meta,
    sql`SELECT id, shard, from_seq, to_seq, body FROM dead_letters WHERE replayed_at IS NULL ORDER BY id LIMIT ${limit}`,
  );
  const result: DlqReplayResult = { replayed: 0, changes: 0, alreadyApplied: 0, backfills: 0, unreplayable: 0, left: 0 };
  const shards = [...new Set(rows.flatMap((r) => (r.shard === null ? [] : [r.shard])))];
  const applied = await readAppliedStates(deps.meta, shards);
  const done: number[] = [];
  for (const r of rows) {
    if (r.shard !== null && r.from_seq !== null && r.to_seq !== null) {
      const n = isApplied(applied.get(r.shard)!, r.from_seq, r.to_seq) ? 0 : await deps.resend(r.shard, r.from_seq, r.to_seq);
      // Nothing left in the outbox: the index has them (the outbox frees a row only then).
      if (n === 0) result.alreadyApplied++;
      else {
        result.replayed++;
        result.changes += n;
      }
    } else if (isBackfill(r.body)) result.backfills++;
    else result.unreplayable++;
    done.push(r.id);
  }
  if (result.backfills > 0) await deps.requestBackfill();
  if (done.length > 0) {
    await prepare(deps.meta, sql`UPDATE dead_letters SET replayed_at = ${new Date().toISOString()} WHERE id IN (SELECT value FROM json_each(${JSON.stringify(done)}))`).run();
  }
  const [left] = await all<{ n: number }>(deps.meta, sql`SELECT COUNT(*) AS n FROM dead_letters WHERE replayed_at IS NULL`);
  result.left = left?.n ?? 0;
  return result;
}

function isBackfill(body: string): boolean {
  try {
    return isBackfillMessage(JSON.parse(body));
  } catch {
    return false;
  }
}
