// Ingest (issue 12): how fast the index takes a bulk load, and what a user
// sees meanwhile. For each count of index databases in BENCH_INDEX_SHARDS
// (default 1; e.g. "1,2,4": DB, DB2, ... with the loaded collections split
// over them by document hash, INDEX_SPLIT_COLLECTIONS), one fresh
// `wrangler dev` and, in that one run:
// (1) idle latency: GET /v1/docs and POST /v1/query (strong, the default,
//     and eventual) p50 on a small `probe` collection;
// (2) the load: BENCH_INGEST_DOCS documents (5 fields, a 2-element array)
//     through POST /v1/batch, 500 writes a batch, 4 batches in flight, as fast
//     as they are acknowledged, while one loop per kind keeps timing GET and
//     queries; then GET /v1/status is polled until every shard's lagChanges
//     is 0. Reported: the acknowledged rate, the index apply rate, the time
//     from the last acknowledgement until the index holds every document,
//     queue messages and changes delivered per change written, duplicates,
//     and the p50s during the load, while the index catches up, and 0-5 s
//     and 5-10 s after it caught up, against idle;
// (3) the same rows as plain multi-row INSERTs into the same tables
//     (POST /__bench/plain-insert, 500 documents a call, 4 in flight), the
//     physical floor; and the consumer's own statements without the queue
//     (POST /__bench/seed) alternating with plain INSERTs in short rounds.
// BENCH_PROFILE=1: CPU profiles of the Worker while writes arrive and while
// the index catches up (bench-results/ingest-{load,catch-up}.cpuprofile);
// they slow the run, so compare rates without it.
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, ROOT, startDevServer } from "../lib/dev-server.mjs";
import { describeProfile, startProfile } from "../lib/profile.mjs";
import { indexBindings, writeBenchConfig } from "../lib/bench-config.mjs";
import { fmt, median, mustOk, summarize } from "../lib/measure.mjs";
import { cpuBetween, cpuSnapshot, describeCpu } from "../lib/cpu.mjs";

const DOCS = Number(process.env.BENCH_INGEST_DOCS ?? 100_000);
const SHARD_COUNTS = (process.env.BENCH_INDEX_SHARDS ?? "1").split(",").map(Number);
const APPLY_ROUNDS = Number(process.env.BENCH_APPLY_ROUNDS ?? 4);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 8000);
/** Set to 0 to skip the plain INSERT of every row (part 3's full load). */
const PLAIN_FULL = process.env.BENCH_PLAIN_FULL !== "0";
/** INDEX_LAG_LIMIT for the server (changes per shard; unset: off, the default). */
const LAG_LIMIT = process.env.BENCH_INDEX_LAG_LIMIT;
/** INDEX_FLOW_CONTROL_MS values to run, comma-separated (e.g. "5000,0": flow control on, then off); unset: wrangler.toml's. */
const FLOW_TARGETS = process.env.BENCH_FLOW_CONTROL_MS ? process.env.BENCH_FLOW_CONTROL_MS.split(",") : [undefined];
const PROFILE = process.env.BENCH_PROFILE === "1";
const PER_CALL = 500;
const IN_FLIGHT = 4;
const PROBE_DOCS = 200;
const AFTER_MS = 10_000;
const SPLIT = "ingest,plain,apply_blaze,apply_plain";

/** Same as ingestDocument in loadtest/lib/seed-data.ts. */
function doc(i) {
  return { n: i, name: `doc ${i}`, group: `g${i % 50}`, tags: [`t${i % 10}`, `u${i % 7}`], nested: { k: i % 5 } };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function run() {
  const runs = [];
  for (const n of SHARD_COUNTS) for (const flow of FLOW_TARGETS) runs.push(await runWith(n, flow));
  if (runs.length > 1) {
    console.log(`\nindex databases side by side (${DOCS} documents each):`);
    console.log("  dbs | flow control ms | acked docs/s | index docs/s | catch-up s | plain INSERT docs/s | seed apply docs/s | consumer busy | server cores | others' cores | docs/CPU-s");
    for (const r of runs) {
      const s = r.summary;
      console.log(
        `  ${String(r.indexDatabases).padStart(3)} | ${String(r.flowControlMs ?? "default").padStart(15)} | ${fmt(s.ackedDocsPerSecond, 0).padStart(12)} | ${fmt(s.indexDocsPerSecond, 0).padStart(12)} | ` +
          `${fmt(s.catchUpAfterLastAckMs / 1000).padStart(10)} | ${fmt(s.plainFullDocsPerSecond, 0).padStart(19)} | ${fmt(s.applyDocsPerSecond, 0).padStart(17)} | ${fmt(s.consumerBusy).padStart(13)} | ` +
          `${fmt(s.serverCores).padStart(12)} | ${fmt(s.otherCores).padStart(13)} | ${fmt(s.docsPerServerCpuSecond, 0)}`,
      );
    }
  }
  return { runs, config: { DOCS, SHARD_COUNTS, FLOW_TARGETS, LAG_LIMIT, APPLY_ROUNDS, IDLE_MS, PER_CALL, IN_FLIGHT, PROBE_DOCS, AFTER_MS, SPLIT } };
}

async function runWith(indexDatabases, flowControlMs) {
  const bindings = indexBindings(indexDatabases);
  const config = writeBenchConfig({ indexDatabases });
  const persistTo = mkdtempSync(join(tmpdir(), "blaze-bench-ingest-"));
  for (const database of bindings) await migrate({ config, persistTo, database });
  const server = await startDevServer({
    config, persistTo,
    vars: { INDEX_SHARDS: bindings.join(","), INDEX_SPLIT_COLLECTIONS: indexDatabases > 1 ? SPLIT : "", ...(LAG_LIMIT ? { INDEX_LAG_LIMIT: LAG_LIMIT } : {}),
      ...(flowControlMs !== undefined ? { INDEX_FLOW_CONTROL_MS: flowControlMs } : {}) },
  });
  const url = server.url;
  const post = (path, body) =>
    fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } }).then(mustOk).then((r) => r.json());
  const getJson = (path, headers = {}) => fetch(`${url}${path}`, { headers }).then(mustOk).then((r) => r.json());
  const admin = await server.adminHeaders();
  const status = () => getJson("/v1/status", admin);
  const caughtUp = (st) => st.shards.every((s) => s.lagChanges === 0);
  console.log(`\n-- ${indexDatabases} index database(s): INDEX_SHARDS=${bindings.join(",")}${indexDatabases > 1 ? ` INDEX_SPLIT_COLLECTIONS=${SPLIT}` : ""}${LAG_LIMIT ? ` INDEX_LAG_LIMIT=${LAG_LIMIT}` : ""}${flowControlMs !== undefined ? ` INDEX_FLOW_CONTROL_MS=${flowControlMs}` : ""}; load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  try {
    // (1) idle.
    await post("/v1/batch", { writes: Array.from({ length: PROBE_DOCS }, (_, i) => ({ op: "set", path: `probe/p${i}`, data: doc(i) })) });
    while (!caughtUp(await status())) await sleep(50);
    const probes = {
      get: async (k) => mustOk(await fetch(`${url}/v1/docs/probe/p${k % PROBE_DOCS}`)).then((r) => r.json()),
      queryStrong: async (k) => post("/v1/query", { from: { collection: "probe" }, where: ["group", "==", `g${k % 50}`], limit: 20 }),
      queryEventual: async (k) => post("/v1/query", { from: { collection: "probe" }, where: ["group", "==", `g${k % 50}`], limit: 20, consistency: "eventual" }),
    };
    // GET /v1/status every 500 ms from idle on: the lag curve (and the same load in every window).
    const lagSamples = []; // { at, lag, watermarks }
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const at = performance.now();
        const [st, q] = await Promise.all([status(), getJson("/__bench/queue-stats")]);
        lagSamples.push({
          at, lag: st.index.lagChanges, applied: st.shards.reduce((n, s) => n + s.watermark, 0), head: st.shards.reduce((n, s) => n + s.headSeq, 0),
          sent: q.sentChanges, delivered: q.changes, consumerMs: q.consumerMs,
        });
        await sleep(500);
      }
    })();
    // One timing loop per kind runs from before the load (the idle figures) to
    // AFTER_MS after the catch-up, so every window is measured the same way.
    const samples = []; // { kind, at, ms, ok }
    let probing = true;
    const loops = Object.entries(probes).map(async ([kind, f]) => {
      for (let k = 0; probing; k++) {
        const t0 = performance.now();
        let ok = true;
        try {
          await f(k);
        } catch {
          ok = false;
        }
        const t1 = performance.now();
        samples.push({ kind, at: t0, ms: t1 - t0, ok });
        await sleep(20);
      }
    });
    await sleep(2000); // warm-up, not counted
    const idleFrom = performance.now();
    const cpuIdle0 = cpuSnapshot(server.pid);
    await sleep(IDLE_MS);
    const idleTo = performance.now();
    const idleCpu = cpuBetween(cpuIdle0, cpuSnapshot(server.pid));
    const idleP50 = {};
    for (const kind of Object.keys(probes)) idleP50[kind] = median(samples.filter((s) => s.kind === kind && s.at >= idleFrom && s.at < idleTo).map((s) => s.ms));
    console.log(`idle p50 (3 timing loops, ${IDLE_MS / 1000} s): GET ${fmt(idleP50.get)} ms, query strong ${fmt(idleP50.queryStrong)} ms, eventual ${fmt(idleP50.queryEventual)} ms`);
    console.log(`  ${describeCpu(idleCpu)}`);

    const statsBefore = await getJson("/__bench/queue-stats");
    const appliedBefore = (await status()).shards.reduce((n, s) => n + s.watermark, 0);
    const started = performance.now();
    const cpu0 = cpuSnapshot(server.pid);
    const profiles = {};
    let profiler = PROFILE ? await startProfile(server.inspectorPort) : null;
    let next = 0;
    let lastAck = 0;
    let refused = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        for (;;) {
          const at = next;
          next += PER_CALL;
          if (at >= DOCS) return;
          const writes = Array.from({ length: Math.min(PER_CALL, DOCS - at) }, (_, j) => ({ op: "set", path: `ingest/d${at + j}`, data: doc(at + j) }));
          for (;;) {
            const res = await fetch(`${url}/v1/batch`, { method: "POST", body: JSON.stringify({ writes }), headers: { "Content-Type": "application/json" } });
            if (res.status === 429 || res.status === 503) {
              refused++;
              await res.text();
              await sleep(Number(res.headers.get("Retry-After") ?? 1) * 1000);
              continue;
            }
            await mustOk(res).then((r) => r.json());
            break;
          }
          lastAck = performance.now();
        }
      }),
    );
    const ackSeconds = (lastAck - started) / 1000;
    const cpu1 = cpuSnapshot(server.pid);
    if (profiler) {
      profiles.load = await profiler.stop({ saveTo: join(ROOT, "bench-results", "ingest-load.cpuprofile") });
      profiler = await startProfile(server.inspectorPort);
    }
    let caughtUpAt = 0;
    for (;;) {
      const st = await status();
      if (caughtUp(st)) {
        caughtUpAt = performance.now();
        break;
      }
      if (performance.now() - lastAck > 300_000) throw new Error(`the index is ${st.index.lagChanges} changes behind 5 minutes after the last acknowledgement`);
      await sleep(100);
    }
    const cpu2 = cpuSnapshot(server.pid);
    if (profiler) profiles.catchUp = await profiler.stop({ saveTo: join(ROOT, "bench-results", "ingest-catch-up.cpuprofile") });
    sampling = false;
    await sampler;
    const indexed = (await getJson("/__bench/count?collection=ingest")).count;
    if (indexed !== DOCS) throw new Error(`status says caught up, but the index holds ${indexed} of ${DOCS} documents`);
    // Keep timing reads after the catch-up; late duplicates arrive meanwhile.
    await sleep(AFTER_MS);
    probing = false;
    await Promise.all(loops);
    const statsAfter = await getJson("/__bench/queue-stats");

    const windows = {
      idle: [idleFrom, idleTo],
      load: [started, lastAck],
      catchUp: [lastAck, caughtUpAt],
      after0to5s: [caughtUpAt, caughtUpAt + 5000],
      after5to10s: [caughtUpAt + 5000, caughtUpAt + 10_000],
    };
    const latency = {};
    for (const kind of Object.keys(probes)) {
      latency[kind] = {};
      for (const [w, range] of Object.entries(windows)) {
        const xs = samples.filter((s) => s.kind === kind && s.at >= range[0] && s.at < range[1]);
        const sum = summarize(xs.map((s) => s.ms));
        latency[kind][w] = { p50: sum.n ? sum.p50 : undefined, p90: sum.n ? sum.p90 : undefined, n: sum.n, failed: xs.filter((s) => !s.ok).length, vsIdle: sum.n ? sum.p50 / idleP50[kind] : undefined };
      }
    }
    // Index apply rate while writes were arriving (watermark progress), from status samples.
    const inLoad = lagSamples.filter((s) => s.at >= started && s.at <= lastAck);
    const first = inLoad[0];
    const last = inLoad[inLoad.length - 1];
    const delta = (k) => statsAfter[k] - statsBefore[k];
    // Where the backlog sat when the last write was acknowledged: written (head seqs), sent to the queue, delivered to the consumer, applied.
    const b0 = first;
    const atAck = last && b0 ? { written: last.head - b0.head, sent: last.sent - b0.sent, delivered: last.delivered - b0.delivered, applied: last.applied - b0.applied } : undefined;
    const timeline = lagSamples.map((x) => ({ t: Math.round(x.at - started), lag: x.lag, written: x.head, sent: x.sent, delivered: x.delivered, applied: x.applied, consumerMs: Math.round(x.consumerMs) }));
    const summary = {
      docs: DOCS,
      indexDatabases,
      ackedDocsPerSecond: DOCS / ackSeconds,
      indexDocsPerSecond: DOCS / ((caughtUpAt - started) / 1000),
      indexDocsPerSecondDuringLoad: first && last && last.at > first.at ? (last.applied - first.applied) / ((last.at - first.at) / 1000) : undefined,
      maxLagChanges: Math.max(0, ...lagSamples.map((s) => s.lag)),
      catchUpAfterLastAckMs: caughtUpAt - lastAck,
      refusedBatches: refused,
      queueBatches: delta("batches"),
      queueMessages: delta("messages"),
      messagesPerChange: delta("messages") / DOCS,
      changesDeliveredPerChange: delta("changes") / DOCS,
      duplicateMessages: delta("duplicates"),
      retriedMessages: delta("retried"),
      consumerBusy: delta("consumerMs") / (caughtUpAt - started),
      maxConcurrentBatches: statsAfter.maxConcurrentBatches,
      appliedSeqsCheck: (last?.applied ?? 0) - appliedBefore,
      sentChangesPerChange: delta("sentChanges") / DOCS, // first sends and resends

      atLastAck: atAck,
    };
    console.log(`end to end, ${DOCS} documents through POST /v1/batch (${PER_CALL} a batch, ${IN_FLIGHT} in flight):`);
    console.log(`  acknowledged ${fmt(summary.ackedDocsPerSecond, 0)} docs/s (${fmt(ackSeconds, 1)} s${refused ? `, ${refused} batches refused and retried` : ""}); ` +
      `index ${fmt(summary.indexDocsPerSecond, 0)} docs/s overall, ${fmt(summary.indexDocsPerSecondDuringLoad, 0)} docs/s while writes arrived; max lag ${summary.maxLagChanges} changes`);
    console.log(`  index held every document ${fmt(summary.catchUpAfterLastAckMs / 1000)} s after the last acknowledgement (target 10 s)`);
    console.log(`  queue: ${summary.queueBatches} batches, ${summary.queueMessages} messages (${fmt(summary.messagesPerChange, 4)} per change), ` +
      `${fmt(summary.sentChangesPerChange, 3)} changes sent and ${fmt(summary.changesDeliveredPerChange, 3)} delivered per change written (target 1.1), ${summary.duplicateMessages} duplicate messages, ${summary.retriedMessages} retried; ` +
      `consumer busy ${fmt(100 * summary.consumerBusy, 0)}% of the wall clock, at most ${summary.maxConcurrentBatches} batches at once`);
    if (atAck) console.log(`  at the last acknowledgement (status sample): written ${atAck.written}, sent to the queue ${atAck.sent}, delivered to the consumer ${atAck.delivered}, applied ${atAck.applied}`);
    const cpu = { idle: idleCpu, load: cpuBetween(cpu0, cpu1), catchUp: cpuBetween(cpu1, cpu2), whole: cpuBetween(cpu0, cpu2) };
    // CPU-seconds of wrangler dev's processes from the first write until the index held everything: the cost of the ingest,
    // which (unlike the rates) hardly depends on how much of the machine the other engineers took.
    summary.serverCpuSeconds = cpu.whole.serverCores * cpu.whole.seconds;
    summary.serverCores = cpu.whole.serverCores;
    summary.otherCores = cpu.whole.otherCores;
    summary.docsPerServerCpuSecond = DOCS / summary.serverCpuSeconds;
    console.log(`  load: ${describeCpu(cpu.load)}`);
    console.log(`  first write to index complete: wrangler dev used ${fmt(summary.serverCpuSeconds, 1)} CPU-s (${fmt(summary.serverCores)} cores on average; others ${fmt(summary.otherCores)}): ` +
      `${fmt(summary.docsPerServerCpuSecond, 0)} documents per CPU-second`);
    if (cpu.catchUp.seconds > 0.5) console.log(`  catch-up: ${describeCpu(cpu.catchUp)}`);
    for (const [w, p] of Object.entries(profiles)) console.log(`  ${w}: ${describeProfile(p)}`);
    console.log("  p50 (ms; x idle)         idle |            load |        catch-up |    0-5 s after |   5-10 s after");
    for (const [kind, l] of Object.entries(latency)) {
      const cell = (w) => (l[w].n ? `${fmt(l[w].p50, 1)} (${fmt(l[w].vsIdle, 1)}x)${l[w].failed ? ` ${l[w].failed}!` : ""}` : "-").padStart(15);
      console.log(`  ${kind.padEnd(14)} ${`${fmt(l.idle.p50, 1)}${l.idle.failed ? ` ${l.idle.failed}!` : ""}`.padStart(10)} | ${cell("load")} | ${cell("catchUp")} | ${cell("after0to5s")} | ${cell("after5to10s")}`);
    }

    // (3) plain multi-row INSERTs of the same rows, then short alternating rounds.
    let plainFullDocsPerSecond;
    if (PLAIN_FULL) {
      const t0 = performance.now();
      let at = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          for (;;) {
            const from = at;
            at += PER_CALL;
            if (from >= DOCS) return;
            await post("/__bench/plain-insert", { collection: "plain", from, count: Math.min(PER_CALL, DOCS - from), shape: "ingest" });
          }
        }),
      );
      plainFullDocsPerSecond = DOCS / ((performance.now() - t0) / 1000);
      console.log(`plain multi-row INSERT of the same ${DOCS} rows (${PER_CALL} a call, ${IN_FLIGHT} in flight): ${fmt(plainFullDocsPerSecond, 0)} docs/s ` +
        `(end-to-end index rate / plain: ${fmt(summary.indexDocsPerSecond / plainFullDocsPerSecond)}x)`);
    }
    const apply = { blaze: [], plain: [] };
    let from = 0;
    for (let r = 0; r < APPLY_ROUNDS + 1; r++) {
      for (const [kind, path] of [["plain", "/__bench/plain-insert"], ["blaze", "/__bench/seed"]]) {
        const t0 = performance.now();
        for (let k = 0; k < 4; k++, from += PER_CALL) await post(path, { collection: `apply_${kind}`, from, count: PER_CALL, shape: "ingest" });
        const rate = (4 * PER_CALL) / ((performance.now() - t0) / 1000);
        if (r > 0) apply[kind].push(rate); // round 0 warms up
      }
    }
    const applyRate = { blaze: median(apply.blaze), plain: median(apply.plain) };
    console.log(
      `apply without the queue (${PER_CALL} docs a call, one at a time, median of ${APPLY_ROUNDS} rounds of ${4 * PER_CALL}): ` +
        `consumer statements ${fmt(applyRate.blaze, 0)} docs/s, plain multi-row INSERT ${fmt(applyRate.plain, 0)} docs/s (${fmt(applyRate.blaze / applyRate.plain)}x)`,
    );
    return {
      indexDatabases,
      flowControlMs,
      loadAverage: loadavg(),
      summary: { ...summary, plainFullDocsPerSecond, applyDocsPerSecond: applyRate.blaze, plainApplyDocsPerSecond: applyRate.plain },
      latency,
      cpu,
      profiles,
      timeline,
    };
  } finally {
    await server.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }
}
