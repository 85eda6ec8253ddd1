// Load generation and statistics for the benchmarks: closed-loop workers
// with a fixed concurrency, latency percentiles, side-by-side ratios.

/** Runs `op(i)` `total` times with `concurrency` in flight; returns latencies (ms) and throughput. */
export async function closedLoop({ total, concurrency, op }) {
  const latencies = new Array(total);
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const t0 = performance.now();
        try {
          await op(i);
        } catch (e) {
          failures++;
          if (failures <= 3) console.error(`  request ${i} failed: ${e.message}`);
        }
        latencies[i] = performance.now() - t0;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { ...summarize(latencies), perSecond: total / seconds, failures };
}

export function summarize(samples) {
  const s = samples.filter((x) => x !== undefined).sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, p50: q(0.5), p90: q(0.9), p95: q(0.95), p99: q(0.99), max: s[s.length - 1], mean: s.reduce((a, b) => a + b, 0) / s.length };
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const fmt = (x, d = 2) => (x === undefined || Number.isNaN(x) ? "-" : x.toFixed(d));

export async function mustOk(res) {
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
  return res;
}

/** Runs `f` and adds how long it took (`ms`) to what it returns. */
export async function timed(f) {
  const t0 = performance.now();
  const out = await f();
  return { ms: performance.now() - t0, ...out };
}
