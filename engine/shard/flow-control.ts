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
 */

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

/** The target from the environment: a number of ms, "0" for off, unset for the default. */
export function flowTargetMs(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return DEFAULT_FLOW_TARGET_MS;
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** How long a write waits when the oldest unapplied change is `ageMs` old. */
export function flowWaitMs(ageMs: number, targetMs: number): number {
  if (targetMs <= 0 || ageMs <= targetMs) return 0;
  return Math.min(FLOW_MAX_WAIT_MS, Math.ceil((ageMs - targetMs) / FLOW_GAIN_DIVISOR));
}

/** What flow control reads of the shard's storage (DocStore provides it). */
export interface FlowStore {
  indexLag(): { oldestSeq: number | null };
  /** When the change after `seq` was committed (ms epoch), or null. */
  committedAfter(seq: number): number | null;
}

/** Age (ms) of the oldest change the shard does not know applied; 0 when none. */
export function unappliedAgeMs(store: FlowStore, now: number): number {
  const { oldestSeq } = store.indexLag();
  if (oldestSeq === null) return 0;
  const at = store.committedAfter(oldestSeq - 1);
  return at === null ? 0 : Math.max(0, now - at);
}

export interface FlowDeps {
  targetMs(): number;
  /** Reads the shard's watermark from D1 and frees what it covers. */
  refresh(): Promise<void>;
  sleep(ms: number): Promise<void>;
  now(): number;
}

/** One per shard object: paces its writes. */
export class FlowControl {
  private refreshedAt = Number.NEGATIVE_INFINITY;
  /** Writes made to wait since the object started, and the ms they waited. */
  readonly stats = { delayed: 0, waitedMs: 0 };

  constructor(private readonly deps: FlowDeps) {}

  /** Waits as long as the shard's index lag asks; resolves to the ms waited. */
  async pace(store: FlowStore): Promise<number> {
    const target = this.deps.targetMs();
    if (target <= 0) return 0;
    let wait = flowWaitMs(unappliedAgeMs(store, this.deps.now()), target);
    if (wait === 0) return 0;
    // The outbox may still hold changes the index applied since the consumer last told this shard.
    if (this.deps.now() - this.refreshedAt >= Math.min(FLOW_REFRESH_MS, target)) {
      this.refreshedAt = this.deps.now();
      // D1 unreachable: pace on what the shard knows (the index is not applying either).
      await this.deps.refresh().catch(() => undefined);
      wait = flowWaitMs(unappliedAgeMs(store, this.deps.now()), target);
      if (wait === 0) return 0;
    }
    this.stats.delayed++;
    this.stats.waitedMs += wait;
    await this.deps.sleep(wait);
    return wait;
  }
}
