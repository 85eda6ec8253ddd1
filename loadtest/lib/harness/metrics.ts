/**
 * What the Node harness measures, named as k6 names it: http_req_duration
 * (per request `name`), http_req_failed, checks, and custom trends
 * (listener_lag). Kept as timed samples, for the summary, the thresholds and
 * the chart's timeline.
 */
import { summarize, type Summary } from "../measure.mjs";

export interface Sample {
  /** ms since the run started, when the sample completed. */
  t: number;
  ms: number;
}

export class Metrics {
  readonly started = performance.now();
  readonly requests = new Map<string, (Sample & { failed: boolean })[]>();
  readonly trends = new Map<string, Sample[]>();
  readonly checks = new Map<string, { pass: number; fail: number }>();

  elapsed(): number {
    return performance.now() - this.started;
  }

  request(name: string, ms: number, failed: boolean): void {
    if (!this.requests.has(name)) this.requests.set(name, []);
    this.requests.get(name)!.push({ t: this.elapsed(), ms, failed });
  }

  trend(name: string, ms: number): void {
    if (!this.trends.has(name)) this.trends.set(name, []);
    this.trends.get(name)!.push({ t: this.elapsed(), ms });
  }

  check(name: string, ok: boolean): void {
    if (!this.checks.has(name)) this.checks.set(name, { pass: 0, fail: 0 });
    const c = this.checks.get(name)!;
    if (ok) c.pass++;
    else c.fail++;
  }

  /** Request samples, of one name or all. */
  samples(name?: string): (Sample & { failed: boolean })[] {
    if (name) return this.requests.get(name) ?? [];
    return [...this.requests.values()].flat();
  }
}

export interface Stat extends Summary {
  perSecond: number;
  failed: number;
}

export function stat(samples: (Sample & { failed?: boolean })[], seconds: number): Stat {
  const s = summarize(samples.map((x) => x.ms));
  return { ...s, perSecond: samples.length / seconds, failed: samples.filter((x) => x.failed).length };
}

export interface TimelinePoint {
  /** Second since the start. */
  t: number;
  perSecond: number;
  failed: number;
  p50?: number;
  p95?: number;
  p99?: number;
  lagP95?: number;
}

/** Per second: requests completed, failures, latency percentiles, listener lag p95. */
export function timeline(m: Metrics, seconds: number): TimelinePoint[] {
  const points: TimelinePoint[] = [];
  const all = m.samples();
  const lag = m.trends.get("listener_lag") ?? [];
  for (let t = 0; t < Math.ceil(seconds); t++) {
    const inSecond = <T extends Sample>(xs: T[]) => xs.filter((x) => x.t >= t * 1000 && x.t < (t + 1) * 1000);
    const reqs = inSecond(all);
    const lags = inSecond(lag);
    const s = reqs.length ? summarize(reqs.map((x) => x.ms)) : undefined;
    points.push({
      t,
      perSecond: reqs.length,
      failed: reqs.filter((x) => x.failed).length,
      ...(s ? { p50: s.p50, p95: s.p95, p99: s.p99 } : {}),
      ...(lags.length ? { lagP95: summarize(lags.map((x) => x.ms)).p95 } : {}),
    });
  }
  return points;
}
