/**
 * Flow control: while the index is far behind a shard's writes, the shard
 * slows its writers down instead of letting the backlog grow, as MongoDB's
 * flow control does for replication lag (on by default there too).
 *
 * On one machine (and in one Worker isolate) the write path and the
 * consumer share the CPU: a bulk load acknowledged as fast as the shards
 * can commit leaves the index ever further behind, and every strong read
 * and live query waits on that index. So a write waits, before it commits,
 * in proportion to how far the age of the shard's oldest unapplied change
 * is past the target (INDEX_FLOW_CONTROL_MS, default 2 s; "0" turns it
 * off), at most FLOW_MAX_WAIT_MS. A waiting write costs no CPU, so the
 * consumer gets the machine, and a closed-loop writer (an import with a few
 * batches in flight) settles at the rate the index applies. Reads never
 * wait. INDEX_LAG_LIMIT (refuse with Retry-After) and the hard bounds on
 * unapplied changes still apply on top.
 *
 * What counts is the consumer's backlog (backlogAgeMs), not a lost message
 * the consumer is already past, and nothing while the shard cannot send to
 * the queue at all: waiting helps only when the consumer is what is behind.
 * A multi-shard batch is paced by each participant in its prepare, before
 * it takes its locks, so it waits for its slowest shard.
 */
import type { IndexProgress } from "../pipeline/drain";

/** The longest a write waits; well under PREPARE_TIMEOUT_MS, so a batch's prepared shards do not give up meanwhile. */
export const FLOW_MAX_WAIT_MS = 2000;
/** The default target age of the oldest unapplied change (ms). */
export const DEFAULT_FLOW_TARGET_MS = 2000;
/**
 * A wait grows by 1 ms per this many ms of age past the target: 500 ms per
 * second, so a load settles with the lag a second or two past the target,
 * still within a strong read's 5 s wait for the index.
 */
const FLOW_GAIN_DIVISOR = 2;
/**
 * How often a shard that looks behind asks D1 for its watermark (the
 * consumer tells it only every few hundred seqs); never less often than the
 * target, so a change committed after the last read cannot look old enough
 * to wait on before the next read is allowed.
 */
export const FLOW_REFRESH_MS = 1000;
/** A write waits at most this long for that read. */
export const FLOW_REFRESH_TIMEOUT_MS = 250;

/** The target from the environment: a number of ms, "0" (or less) for off; unset or not a number: the default. */
export function flowTargetMs(value: string | undefined): number {
  const n = Number(value ?? "");
  if (value === undefined || value.trim() === "" || !Number.isFinite(n)) return DEFAULT_FLOW_TARGET_MS;
  return n > 0 ? n : 0;
}

/** How long a write waits when the oldest unapplied change is `ageMs` old. */
export function flowWaitMs(ageMs: number, targetMs: number): number {
  if (targetMs <= 0 || ageMs <= targetMs) return 0;
  return Math.min(FLOW_MAX_WAIT_MS, Math.ceil((ageMs - targetMs) / FLOW_GAIN_DIVISOR));
}

/** What flow control reads of the shard's storage (DocStore provides it). */
export interface FlowStore {
  oldestOutboxSeq(): number | null;
  indexProgress(): IndexProgress | null;
  /** When the change after `seq` was committed (ms epoch), or null. */
  committedAfter(seq: number): number | null;
}

/**
 * Age (ms) of the consumer's backlog on this shard as the shard knows it: of
 * the oldest change in the outbox above the highest seq the index holds.
 * Rows at or below that seq are gaps the consumer is already past (a lost
 * message waiting for its resend): slowing writers cannot help them. 0 when
 * there is no backlog.
 */
export function backlogAgeMs(store: FlowStore, now: number): number {
  const oldestSeq = store.oldestOutboxSeq();
  if (oldestSeq === null) return 0;
  const at = store.committedAfter(Math.max(oldestSeq - 1, store.indexProgress()?.highest ?? 0));
  return at === null ? 0 : Math.max(0, now - at);
}

export interface FlowDeps {
  targetMs(): number;
  /** True while the shard's queue sends fail: the consumer is not what is behind, so waiting cannot help. */
  sendsFailing(): boolean;
  /** Reads the shard's applied state from D1 and folds it into the store (frees the outbox rows it covers). */
  refresh(): Promise<void>;
  sleep(ms: number): Promise<void>;
  now(): number;
}

/** One per shard object: paces its writes. */
export class FlowControl {
  private refreshedAt = Number.NEGATIVE_INFINITY;
  /** The D1 read in flight: writes arriving meanwhile wait for it, then judge on what it found. */
  private refreshing: Promise<void> | null = null;
  /** Writes made to wait since the object started, and the ms they waited. */
  readonly stats = { delayed: 0, waitedMs: 0 };

  constructor(private readonly deps: FlowDeps) {}

  /** Waits as long as the shard's index lag asks; resolves to the ms waited. */
  async pace(store: FlowStore): Promise<number> {
    const target = this.deps.targetMs();
    if (target <= 0 || this.deps.sendsFailing()) return 0;
    let wait = flowWaitMs(backlogAgeMs(store, this.deps.now()), target);
    if (wait === 0) return 0;
    // The outbox may still hold changes the index applied since the consumer last told this shard.
    if (this.refreshing || this.deps.now() - this.refreshedAt >= Math.min(FLOW_REFRESH_MS, target)) {
      await this.refresh();
      wait = flowWaitMs(backlogAgeMs(store, this.deps.now()), target);
      if (wait === 0) return 0;
    }
    this.stats.delayed++;
    this.stats.waitedMs += wait;
    await this.deps.sleep(wait);
    return wait;
  }

  private refresh(): Promise<void> {
    if (!this.refreshing) {
      this.refreshedAt = this.deps.now();
      // D1 unreachable or slow: pace on what the shard knows (the index is not applying either).
      let timer: ReturnType<typeof setTimeout> | undefined;
      const read = this.deps.refresh().catch(() => undefined);
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, FLOW_REFRESH_TIMEOUT_MS)));
      this.refreshing = Promise.race([read, timeout]).finally(() => {
        clearTimeout(timer);
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }
}
