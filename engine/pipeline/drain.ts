/**
 * Outbox drain, run from the shard's alarm: free rows the index has applied
 * (end to end: the D1 watermark passed them, not merely `send` returned),
 * then send due rows to the queue, packed into few messages and `sendBatch`
 * calls. Rows stay in the outbox until applied; rows sent but still not
 * applied after `resendAfterMs` are sent again (a lost local queue, a message
 * in the dead-letter queue, a consumer that crashed).
 */
import type { Change } from "../core/writes";
import { groupForSendBatch, packMessages, type ChangeMessage } from "./messages";

/** What the drain needs of the shard's storage (DocStore provides it). */
export interface OutboxStore {
  readonly shard: number;
  dueOutbox(resendBefore: number, limit: number): Change[];
  markSent(seqs: number[], at: number): void;
  markUnsent(seqs: number[]): void;
  ackThrough(watermark: number): void;
  outboxStats(): { count: number; minSeq: number | null; oldestSentAt: number | null };
}

export interface DrainOptions {
  queue: Queue<ChangeMessage>;
  /** Reads the shard's watermark from D1; null when D1 could not be read. */
  readWatermark(): Promise<number | null>;
  now: number;
  resendAfterMs: number;
  /** Rows per drain, to bound one alarm's work. */
  maxRows?: number;
}

export interface DrainResult {
  sent: number;
  failed: number;
  remaining: number;
  /** When the alarm should run again (ms epoch), or null when the outbox is empty. */
  nextAt: number | null;
}

export async function drainOutbox(store: OutboxStore, opts: DrainOptions): Promise<DrainResult> {
  // The consumer pushes acknowledgements (ShardDO.acked); asking D1 is only
  // needed before a resend, to not resend what was applied but not pushed.
  const before = store.outboxStats();
  if (before.oldestSentAt !== null && before.oldestSentAt < opts.now - opts.resendAfterMs) {
    const watermark = await opts.readWatermark();
    if (watermark !== null) store.ackThrough(watermark);
  }

  const due = store.dueOutbox(opts.now - opts.resendAfterMs, opts.maxRows ?? 2000);
  let sent = 0;
  let failed = 0;
  for (const group of groupForSendBatch(packMessages(store.shard, due))) {
    const seqs = group.flatMap((g) => g.message.changes.map((c) => c.seq));
    try {
      await opts.queue.sendBatch(group.map((g) => ({ body: g.message, contentType: "json" as const })));
      store.markSent(seqs, opts.now);
      sent += seqs.length;
    } catch (e) {
      console.warn(`blaze shard ${store.shard}: queue send failed for ${seqs.length} changes: ${e instanceof Error ? e.message : e}`);
      store.markUnsent(seqs);
      failed += seqs.length;
    }
  }
  const stats = store.outboxStats();
  let nextAt: number | null = null;
  if (stats.count > 0) {
    // More due rows than one drain takes: go again at once. Otherwise wake
    // when the oldest sent row becomes due for a resend.
    nextAt = due.length >= (opts.maxRows ?? 2000) ? opts.now : (stats.oldestSentAt ?? opts.now) + opts.resendAfterMs;
  }
  return { sent, failed, remaining: stats.count, nextAt };
}
