/**
 * Runs a scenario (loadtest/k6/scenarios/) in Node as k6 would: each group's
 * virtual users loop over their iteration for the duration; then, when
 * checking, reads back the final state and judges the history
 * (loadtest/lib/checker.ts). `during` injects faults while the load runs.
 */
import { checkHistory, type CheckReport } from "../checker.ts";
import { memoryRecorder, type History } from "../../k6/lib/history.ts";
import { layout, type Layout } from "../../k6/lib/ops.ts";
import type { Runtime } from "../../k6/lib/runtime.ts";
import type { Scenario } from "../../k6/lib/scenario.ts";
import { collectFinal } from "./final.ts";
import { Metrics, stat, timeline, type Stat, type TimelinePoint } from "./metrics.ts";
import { nodeRuntime, type RunContext, type Transport } from "./node-runtime.ts";
import type { Flatness, ResourceSample } from "./resources.ts";
import { evaluate, type ThresholdResult } from "./thresholds.ts";

export interface RunOptions {
  url: string;
  key?: string;
  durationMs: number;
  /** Multiplies every group's virtual users. */
  scale?: number;
  /** Record the history and check it at the end (default true). */
  check?: boolean;
  /** How long the end waits for the index and the listeners to catch up. */
  settleMs?: number;
  log?: (line: string) => void;
  /** Progress line period (ms); 0 for none. */
  progressMs?: number;
  during?: (run: RunHandle) => Promise<void>;
  /** How often batches move to a new generation of batch documents (default 30 s: DEFAULT_SIZES in ops.ts). */
  batchGenerationMs?: number;
  /** Reach Blaze some other way than fetch and Node's WebSocket (workers tests: the Worker in-process). */
  transport?: Transport;
}

export interface RunHandle {
  elapsed(): number;
  /** This run's documents and collections. */
  layout: Layout;
  /** Closes every open listen socket; the listeners reconnect (resuming) on their next iteration. */
  dropSockets(): number;
  sleep(ms: number): Promise<void>;
}

export interface RunResult {
  scenario: string;
  description: string;
  run: string;
  url: string;
  startedAt: string;
  seconds: number;
  groups: Record<string, number>;
  requests: Record<string, Stat>;
  total: Stat;
  trends: Record<string, Stat>;
  checks: Record<string, { pass: number; fail: number }>;
  iterationErrors: number;
  thresholds: ThresholdResult[];
  timeline: TimelinePoint[];
  check?: CheckReport;
  /** The local server's memory and storage over the run, when the harness started it (resources.ts). */
  resources?: ResourceSample[];
  /** Runs of 2 minutes or more with resources: memory and latency from the second to the last quarter. */
  flatness?: Flatness;
  passed: boolean;
}

export async function runScenario(s: Scenario, o: RunOptions): Promise<{ result: RunResult; history: History }> {
  const log = o.log ?? ((line: string) => console.log(line));
  const started = Date.now();
  const run = started.toString(36);
  const metrics = new Metrics();
  const { recorder, history } = memoryRecorder(() => Date.now());
  const ctx: RunContext = { url: o.url.replace(/\/$/, ""), key: o.key ?? "", run, metrics, recorder, sockets: new Set(), stopping: false, transport: o.transport };
  const L: Layout = layout(run, started, o.batchGenerationMs ? { generationMs: o.batchGenerationMs } : {});
  const startedAt = new Date(started).toISOString();
  let iterationErrors = 0;
  let vu = 0;
  const runtimes: Runtime[] = [];
  const groups: Record<string, number> = {};
  const loops: Promise<void>[] = [];
  for (const [name, g] of Object.entries(s.groups)) {
    groups[name] = Math.max(1, Math.round(g.vus * (o.scale ?? 1)));
    for (let i = 0; i < groups[name]; i++) {
      const rt = nodeRuntime(ctx, ++vu);
      runtimes.push(rt);
      loops.push(
        (async () => {
          while (!ctx.stopping) {
            try {
              await g.iteration(rt, L);
            } catch (e) {
              if (++iterationErrors <= 3) log(`  iteration failed (${name}, vu ${rt.vu}): ${(e as Error).message}`);
            }
            rt.iter++;
          }
        })(),
      );
    }
  }
  log(`${s.name}: ${s.description}`);
  log(`  ${vu} virtual users (${Object.entries(groups).map(([n, v]) => `${n} ${v}`).join(", ")}) for ${o.durationMs / 1000} s against ${ctx.url}`);
  const progress = o.progressMs === 0 ? undefined : setInterval(() => log(progressLine(metrics, ctx)), o.progressMs ?? 5000);
  const handle: RunHandle = {
    elapsed: () => metrics.elapsed(),
    layout: L,
    dropSockets: () => {
      const n = ctx.sockets.size;
      for (const ws of ctx.sockets) ws.close();
      return n;
    },
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
  const faults = o.during?.(handle);
  await new Promise((r) => setTimeout(r, o.durationMs));
  ctx.stopping = true;
  await Promise.all(loops);
  await faults;
  clearInterval(progress);
  const seconds = metrics.elapsed() / 1000;

  let report: CheckReport | undefined;
  if (o.check ?? true) {
    log("  checking: reading back documents, index and listeners");
    const reader = nodeRuntime(ctx, 0);
    const listeners = runtimes.filter((rt) => rt.state.listeners);
    try {
      history.final = await collectFinal(reader, L, listeners, o.settleMs ?? 30_000, log);
      report = checkHistory(history);
    } catch (e) {
      // Nothing to judge the history against: the run fails, its figures are still written.
      const detail = `the final state could not be read: ${(e as Error).message}`;
      log(`  ${detail}`);
      report = { ok: false, anomalies: [{ kind: "unreadable", detail }], counts: { unreadable: 1 }, stats: { ops: history.ops.length, ok: 0, fail: 0, info: 0, listenEvents: 0, listeners: 0, paths: 0 } };
    }
  }

  const requests: Record<string, Stat> = {};
  for (const [name, samples] of metrics.requests) requests[name] = stat(samples, seconds);
  const trends: Record<string, Stat> = {};
  for (const [name, samples] of metrics.trends) trends[name] = stat(samples, seconds);
  const thresholds = evaluate(s.thresholds, metrics);
  const result: RunResult = {
    scenario: s.name,
    description: s.description,
    run,
    url: ctx.url,
    startedAt,
    seconds,
    groups,
    requests,
    total: stat(metrics.samples(), seconds),
    trends,
    checks: Object.fromEntries(metrics.checks),
    iterationErrors,
    thresholds,
    timeline: timeline(metrics, seconds),
    ...(report ? { check: report } : {}),
    passed: thresholds.every((t) => t.ok) && (report?.ok ?? true) && iterationErrors === 0,
  };
  return { result, history };
}

function progressLine(m: Metrics, ctx: RunContext): string {
  const t = m.elapsed();
  const recent = m.samples().filter((x) => x.t > t - 5000);
  const s = stat(recent, 5);
  const lag = (m.trends.get("listener_lag") ?? []).filter((x) => x.t > t - 5000);
  const lagStat = lag.length ? stat(lag, 5) : undefined;
  const total = m.samples();
  const failed = total.filter((x) => x.failed).length;
  return `  ${(t / 1000).toFixed(0).padStart(4)} s  ${String(total.length).padStart(7)} requests  ${s.perSecond.toFixed(0).padStart(5)}/s  p95 ${(s.p95 ?? 0).toFixed(0)} ms  errors ${failed}  sockets ${ctx.sockets.size}${lagStat ? `  listener_lag p95 ${lagStat.p95.toFixed(0)} ms` : ""}`;
}
