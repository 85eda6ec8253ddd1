/**
 * Outbox drain, run from the shard's alarm and after commits: send rows never
 * sent, packed into few messages and `sendBatch` calls, and send again the
 * rows the index has stopped making progress on. Rows stay in the outbox
 * until the shard's watermark in D1 has passed them (end to end), however
 * often they were sent (design.md).
 *
 * When to send again: a row sent and not yet applied is lost (a killed local
 * queue, a message in the dead-letter queue) or merely queued behind a
 * backlog. Age alone cannot tell the two apart, and re-sending a backlog
 * only makes it longer (a retransmission storm). So a row is sent again only
 * when the index has made no progress for a while, and that while doubles
 * with each send of the row (capped at RESEND_MAX_DOUBLINGS):
 *
 *   due when  max(sent_at, progressAt) + base * 2^min(attempts - 1, cap) <= now
 *
 * where progressAt is when the shard last saw its index progress. A row
 * below the highest applied seq is a gap (later changes made it through, so
 * its own message is most likely gone): it waits on the watermark alone. A
 * row above it waits on any progress (the watermark, or any run applied
 * above it), so a consumer working through a backlog past a gap is not
 * flooded with copies of the backlog. Rows the index already holds in a run
 * above the watermark are never sent again; they wait for the gap below them.
 */
import type { Change } from "../core/writes";
import { groupForSendBatch, packMessages, type ChangeMessage } from "./messages";
import { appliedCount, highestApplied, isApplied, type AppliedState } from "./watermarks";

/** A row's wait for progress doubles per send up to 2^this times the base (320 s for a 10 s base). */
export const RESEND_MAX_DOUBLINGS = 5;

/** What the shard last saw of the index's progress on its changes (kept in its storage). */
export interface IndexProgress {
  watermark: number;
  /** appliedCount(): grows whenever anything new of the shard is applied. */
  applied: number;
  /** The highest seq the index holds. */
  highest: number;
  /** When `watermark` last grew (ms epoch). */
  watermarkAt: number;
  /** When `applied` last grew (ms epoch). */
  appliedAt: number;
}

/** The inputs of the resend rule above, which the store evaluates over its rows. */
export interface ResendClock {
  now: number;
  baseMs: number;
  maxDoublings: number;
  progress: IndexProgress;
}

/** What the drain needs of the shard's storage (DocStore provides it). */
export interface OutboxStore {
  readonly shard: number;
  /** Rows never sent (or whose send failed), by seq. */
  unsentOutbox(limit: number): Change[];
  /** Seqs of sent rows due again under the clock, by seq. */
  dueForResend(clock: ResendClock, limit: number): number[];
  /** When the first sent row falls due under the clock (ms epoch), or null when none was sent. */
  nextResendAt(clock: Omit<ResendClock, "now">): number | null;
  changesBySeq(seqs: number[]): Change[];
  /** Rows sent (or found applied above a gap): their wait restarts and doubles. */
  markSent(seqs: number[], at: number): void;
  /** A failed send: the rows are due again at the next drain. */
  markUnsent(seqs: number[]): void;
  ackThrough(watermark: number): void;
  outboxStats(): { count: number };
  indexProgress(): IndexProgress | null;
  setIndexProgress(progress: IndexProgress): void;
}

export interface DrainOptions {
  queue: Queue<ChangeMessage>;
  /** Reads the shard's applied state from D1; null when D1 could not be read. */
  readApplied(): Promise<AppliedState | null>;
  now: number;
  /** The base wait for progress before a row is sent again (OUTBOX_RESEND_MS). */
  resendAfterMs: number;
  /** Rows per drain, to bound one alarm's work. */
  maxRows?: number;
}

export interface DrainResult {
  /** Changes sent for the first time. */
  sent: number;
  /** Changes sent again. */
  resent: number;
  failed: number;
  remaining: number;
  /** When the alarm should run again (ms epoch), or null when the outbox is empty. */
  nextAt: number | null;
}

export async function drainOutbox(store: OutboxStore, opts: DrainOptions): Promise<DrainResult> {
  const limit = opts.maxRows ?? 2000;
  const policy = { baseMs: opts.resendAfterMs, maxDoublings: RESEND_MAX_DOUBLINGS };
  let progress = store.indexProgress();
  // D1 is read only when a row may be due (or to take the first look at the
  // index): the consumer pushes acknowledgements (noteApplied) meanwhile.
  const checkDue = progress === null ? store.outboxStats().count > 0 : (store.nextResendAt({ ...policy, progress }) ?? Infinity) <= opts.now;
  let resend: Change[] = [];
  let checkFailed = false;
  if (checkDue) {
    const state = await opts.readApplied();
    if (state === null) checkFailed = true;
    else {
      progress = absorbApplied(store, state, opts.now);
      const due = store.dueForResend({ ...policy, progress, now: opts.now }, limit);
      const held = due.filter((seq) => isApplied(state, seq, seq));
      // Applied above a gap: not sent, but their wait restarts so they are not looked at on every drain.
      store.markSent(held, opts.now);
      resend = store.changesBySeq(due.filter((seq) => !isApplied(state, seq, seq)));
    }
  }

  const unsent = store.unsentOutbox(limit);
  const outgoing = [...unsent, ...resend].sort((a, b) => a.seq - b.seq);
  const resending = new Set(resend.map((c) => c.seq));
  let sent = 0;
  let resent = 0;
  let failed = 0;
  for (const group of groupForSendBatch(packMessages(store.shard, outgoing))) {
    const seqs = group.flatMap((g) => g.message.changes.map((c) => c.seq));
    try {
      await opts.queue.sendBatch(group.map((g) => ({ body: g.message, contentType: "json" as const })));
      store.markSent(seqs, opts.now);
      const again = seqs.filter((s) => resending.has(s)).length;
      resent += again;
      sent += seqs.length - again;
    } catch (e) {
      console.warn(`blaze shard ${store.shard}: queue send failed for ${seqs.length} changes: ${e instanceof Error ? e.message : e}`);
      store.markUnsent(seqs);
      failed += seqs.length;
    }
  }

  const stats = store.outboxStats();
  let nextAt: number | null = null;
  if (stats.count > 0) {
    if (unsent.length >= limit || resend.length >= limit) nextAt = opts.now; // more than one drain takes
    else if (checkFailed || progress === null) nextAt = opts.now + opts.resendAfterMs; // D1 unreadable: look again later
    else nextAt = store.nextResendAt({ ...policy, progress }) ?? opts.now + opts.resendAfterMs;
  }
  return { sent, resent, failed, remaining: stats.count, nextAt };
}

/** A fresh read of the index: frees the outbox rows it covers and records the progress; returns it. */
export function absorbApplied(store: OutboxStore, state: AppliedState, now: number): IndexProgress {
  store.ackThrough(state.watermark);
  const progress = observeProgress(store.indexProgress(), state, now);
  store.setIndexProgress(progress);
  return progress;
}

/** Folds a fresh read of the index into what the shard knew; a clock moves only on growth. */
export function observeProgress(prev: IndexProgress | null, state: AppliedState, now: number): IndexProgress {
  const applied = appliedCount(state);
  const highest = highestApplied(state);
  if (!prev) return { watermark: state.watermark, applied, highest, watermarkAt: now, appliedAt: now };
  return {
    watermark: Math.max(prev.watermark, state.watermark),
    applied: Math.max(prev.applied, applied),
    highest,
    watermarkAt: state.watermark > prev.watermark ? now : prev.watermarkAt,
    appliedAt: applied > prev.applied ? now : prev.appliedAt,
  };
}

/** The consumer reports the watermark (ShardDO.acked): free rows, and count it as progress. */
export function noteApplied(store: OutboxStore, watermark: number, now: number): void {
  store.ackThrough(watermark);
  const prev = store.indexProgress();
  if (!prev || watermark <= prev.watermark) return;
  store.setIndexProgress({
    watermark,
    applied: Math.max(prev.applied, watermark),
    highest: Math.max(prev.highest, watermark),
    watermarkAt: now,
    // The watermark grows only over seqs newly applied.
    appliedAt: now,
  });
}
