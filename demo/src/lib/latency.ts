/**
 * Write-to-update latency: the time from a write call to the query
 * listener's update that contains it. Each write carries a key (the
 * task's `rev`, or "removed:<id>" for a delete); the listener reports the
 * keys each update contains. A write the board does not show (filtered
 * out) is never seen and is forgotten after `forgetAfterMs`.
 */
export class LatencyTracker {
  private readonly pending = new Map<string, number>();
  private seq = 0;
  private readonly prefix = Math.random().toString(36).slice(2, 8);

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly forgetAfterMs = 10_000,
  ) {}

  /** A key no other write of this page (or, with overwhelming odds, of another page) uses. */
  newKey(): string {
    return `${this.prefix}-${++this.seq}`;
  }

  start(key: string): void {
    const t = this.now();
    for (const [k, t0] of this.pending) if (t - t0 > this.forgetAfterMs) this.pending.delete(k);
    this.pending.set(key, t);
  }

  cancel(key: string): void {
    this.pending.delete(key);
  }

  /** The keys one listener update contained; returns the latencies (ms) of this page's writes among them. */
  seen(keys: Iterable<string>): number[] {
    const t = this.now();
    const out: number[] = [];
    for (const k of keys) {
      const t0 = this.pending.get(k);
      if (t0 === undefined) continue;
      this.pending.delete(k);
      out.push(t - t0);
    }
    return out;
  }
}

export interface LatencyStats {
  count: number;
  last: number;
  median: number;
  max: number;
}

export function latencyStats(samples: readonly number[]): LatencyStats | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return { count: samples.length, last: samples[samples.length - 1], median: sorted[Math.floor(sorted.length / 2)], max: sorted[sorted.length - 1] };
}
