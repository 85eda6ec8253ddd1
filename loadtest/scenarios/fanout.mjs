// Fan-out: 1,000 query listeners on one query, each on its own client socket
// through /v1/listen, against a bare Durable Object that sends the same
// message to 1,000 hibernated sockets, in the same run; and, to tell the
// relay hop apart, the same bare object behind a minimal relay in the Worker
// (what /v1/listen does) and behind a relay Durable Object per client (the
// alternative: the client's socket hibernated in an object of its own).
//
// Per round, one paced PATCH of a document in the query's result, timed from
// the request sent until every listener has the change (and until the first
// has it); then each baseline object is sent the very text a listener got,
// timed the same way. At the end every listener's changes are checked: each
// document's versions exactly as written, in order, none lost or repeated.
// Knobs: BENCH_FANOUT_LISTENERS (1,000), BENCH_FANOUT_ROUNDS (20),
// BENCH_PROFILE=1 (a CPU profile of the Worker, bench-results/fanout.cpuprofile).
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, ROOT, startDevServer } from "../lib/dev-server.mjs";
import { writeBenchConfig } from "../lib/bench-config.mjs";
import { fmt, median, mustOk } from "../lib/measure.mjs";
import { cpuBetween, cpuSnapshot, describeCpu } from "../lib/cpu.mjs";
import { describeProfile, startProfile } from "../lib/profile.mjs";

const LISTENERS = Number(process.env.BENCH_FANOUT_LISTENERS ?? 1000);
const ROUNDS = Number(process.env.BENCH_FANOUT_ROUNDS ?? 20);
const WARMUP = 2;
const DOCS = 20;
const OPEN_CONCURRENCY = 25;
const ROUND_TIMEOUT_MS = 30_000;
// BENCH_PROFILE=1: a CPU profile of the Worker over the measured rounds (it slows them: compare ratios without it).
const PROFILE = process.env.BENCH_PROFILE === "1";
// A filter (no composite index needed: ordered by document name).
const QUERY = { from: { collection: "fan" }, where: ["open", "==", true] };

/** Opens a WebSocket; `onText` gets every text frame with its arrival time. */
async function connect(url, onText) {
  const ws = new WebSocket(url);
  ws.addEventListener("message", (e) => onText(e.data, performance.now()));
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error(`could not open ${url}`)), { once: true });
  });
  return ws;
}

/** Runs `open(i)` for i < n with `concurrency` at once. */
async function openAll(n, concurrency, open) {
  const out = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < n; i = next++) out[i] = await open(i);
  }));
  return out;
}

/**
 * Arrival times per round over many sockets: `arrive(round, t)` once per
 * socket, `wait(round)` resolves with [first, last] once all have it.
 */
function rounds(expected) {
  const state = new Map();
  const get = (r) => {
    let s = state.get(r);
    if (!s) {
      let resolve;
      s = { count: 0, first: Infinity, last: 0, done: new Promise((res) => (resolve = res)) };
      s.resolve = resolve;
      state.set(r, s);
    }
    return s;
  };
  return {
    arrive(r, t) {
      const s = get(r);
      s.count++;
      s.first = Math.min(s.first, t);
      s.last = Math.max(s.last, t);
      if (s.count === expected) s.resolve();
    },
    async wait(r) {
      const s = get(r);
      const timeout = new Promise((res) => setTimeout(res, ROUND_TIMEOUT_MS, "timeout"));
      const outcome = await Promise.race([s.done, timeout]);
      return { first: s.first, last: s.last, count: s.count, timedOut: outcome === "timeout" };
    },
  };
}

export async function run() {
  const config = writeBenchConfig();
  const persistTo = mkdtempSync(join(tmpdir(), "blaze-bench-fanout-"));
  await migrate({ config, persistTo });
  const server = await startDevServer({ config, persistTo });
  const wsUrl = server.url.replace("http", "ws");
  const call = async (method, path, body) =>
    (await mustOk(await fetch(`${server.url}${path}`, { method, body, headers: { "Content-Type": "application/json" } }))).json();
  const load = { start: loadavg() };
  try {
    const written = new Map(); // path -> versions written, in order
    await call("POST", "/v1/batch", JSON.stringify({ writes: Array.from({ length: DOCS }, (_, i) => ({ op: "set", path: `fan/d${i}`, data: { n: i, open: true, r: -1 } })) }));

    // Blaze: one client socket per listener, all listening to the same query.
    const blaze = rounds(LISTENERS);
    const sample = new Map(); // round -> the text a listener got (sent as is to the bare object)
    const violations = [];
    const listeners = await openAll(LISTENERS, OPEN_CONCURRENCY, async (i) => {
      const seen = new Map(); // path -> versions received after the first snapshot
      let ready;
      let failed;
      const initial = new Promise((res, rej) => ((ready = res), (failed = rej)));
      const ws = await connect(`${wsUrl}/v1/listen`, (text, t) => {
        const m = JSON.parse(text);
        if (m.type !== "snapshot") {
          failed(new Error(`listener ${i}: ${text.slice(0, 300)}`));
          return violations.push(`listener ${i}: ${text.slice(0, 200)}`);
        }
        if (m.initial) return ready(m);
        for (const c of m.changes) {
          const list = seen.get(c.doc.path) ?? [];
          list.push(c.doc.version);
          seen.set(c.doc.path, list);
          const r = c.doc.data?.r;
          if (r !== undefined && r >= 0) {
            if (!sample.has(r)) sample.set(r, text);
            blaze.arrive(r, t);
          }
        }
      });
      ws.send(JSON.stringify({ op: "listen", id: "q", query: QUERY }));
      const first = await initial;
      if (first.changes.length !== DOCS) throw new Error(`listener ${i}: first snapshot has ${first.changes.length} documents, expected ${DOCS}`);
      return { ws, seen };
    });
    console.log(`  ${LISTENERS} Blaze listeners open (one socket each)`);

    // The baselines: hibernated sockets on a bare object, straight, through
    // a minimal relay in the Worker, and through a relay object per client.
    const BASELINES = { bare: "", relayed: "?relay=worker", doRelayed: "?relay=do" };
    const base = {};
    for (const [name, query] of Object.entries(BASELINES)) {
      const arrivals = rounds(LISTENERS);
      const sockets = await openAll(LISTENERS, OPEN_CONCURRENCY, () =>
        connect(`${wsUrl}/__bench/fanout${query}`, (text, t) => arrivals.arrive(JSON.parse(text).changes[0].doc.data.r, t)),
      );
      base[name] = { query, arrivals, sockets };
      console.log(`  ${LISTENERS} ${name} baseline sockets open`);
    }

    const results = { blaze: [], ...Object.fromEntries(Object.keys(BASELINES).map((k) => [k, []])) };
    const cpu0 = cpuSnapshot(server.pid);
    const profiler = PROFILE ? await startProfile(server.inspectorPort) : null;
    const pause = () => new Promise((res) => setTimeout(res, 100));
    for (let r = 0; r < WARMUP + ROUNDS; r++) {
      const path = `fan/d${r % DOCS}`;
      const blazeSent = performance.now();
      const res = await call("PATCH", `/v1/docs/${path}`, JSON.stringify({ r }));
      written.set(path, [...(written.get(path) ?? []), res.version]);
      const b = await blaze.wait(r);
      if (b.timedOut) violations.push(`round ${r}: ${b.count} of ${LISTENERS} listeners got the change within ${ROUND_TIMEOUT_MS} ms`);
      if (r >= WARMUP) results.blaze.push({ all: b.last - blazeSent, first: b.first - blazeSent });
      await pause();
      for (const [name, { query, arrivals }] of Object.entries(base)) {
        const sentAt = performance.now();
        const { sent } = await call("POST", `/__bench/fanout${query}`, sample.get(r));
        if (sent !== LISTENERS) throw new Error(`the ${name} object holds ${sent} sockets, expected ${LISTENERS}`);
        const o = await arrivals.wait(r);
        if (o.timedOut) violations.push(`round ${r}: ${o.count} of ${LISTENERS} ${name} sockets got the message`);
        if (r >= WARMUP) results[name].push({ all: o.last - sentAt, first: o.first - sentAt });
        await pause();
      }
    }
    const cpu = cpuBetween(cpu0, cpuSnapshot(server.pid));
    const profile = profiler ? await profiler.stop({ saveTo: join(ROOT, "bench-results", "fanout.cpuprofile") }) : null;
    load.end = loadavg();

    // Every listener: each document's versions exactly as written, in order.
    let lost = 0;
    let outOfOrder = 0;
    for (const [i, l] of listeners.entries()) {
      for (const [path, versions] of written) {
        const got = l.seen.get(path) ?? [];
        if (got.length < versions.length) lost += versions.length - got.length;
        if (got.join() !== versions.join()) {
          outOfOrder += got.some((v, k) => k > 0 && v <= got[k - 1]) ? 1 : 0;
          if (violations.length < 20) violations.push(`listener ${i} ${path}: got versions ${got.join(",")}, written ${versions.join(",")}`);
        }
      }
    }
    for (const l of listeners) l.ws.close();
    for (const { sockets } of Object.values(base)) for (const ws of sockets) ws.close();

    const pick = (rows, k) => median(rows.map((x) => x[k]));
    const figures = (rows) => ({ firstMs: pick(rows, "first"), allMs: pick(rows, "all"), spreadMs: median(rows.map((x) => x.all - x.first)) });
    const summary = {
      blaze: figures(results.blaze),
      bare: figures(results.bare),
      relayed: figures(results.relayed),
      doRelayed: figures(results.doRelayed),
      changesPerListener: [...written.values()].reduce((n, v) => n + v.length, 0),
      lost,
      outOfOrder,
      violations: violations.length,
    };
    const perRound = (name) => median(results.blaze.map((x, k) => x.all / results[name][k].all));
    summary.ratio = summary.blaze.allMs / summary.bare.allMs;
    summary.ratioMedianOfRounds = perRound("bare");
    summary.ratioToRelayed = summary.blaze.allMs / summary.relayed.allMs;
    const line = (label, f) => `  ${label}: first ${fmt(f.firstMs)} ms, all ${fmt(f.allMs)} ms (spread ${fmt(f.spreadMs)} ms)`;
    console.log(`\nfan-out to ${LISTENERS} sockets, ${ROUNDS} rounds (after ${WARMUP} warm-up), medians, from the request sent:`);
    console.log(line("Blaze query listeners, PATCH -> change      ", summary.blaze));
    console.log(line("bare DO, hibernated sockets, POST -> message", summary.bare));
    console.log(line("bare DO through a minimal Worker relay      ", summary.relayed));
    console.log(line("bare DO through a relay DO per client       ", summary.doRelayed));
    console.log(`  ratio Blaze/bare, time until all have it: ${fmt(summary.ratio)}x (median of per-round ratios ${fmt(summary.ratioMedianOfRounds)}x; floor 2x, aim 1.2x)`);
    console.log(`  ratio Blaze/relayed bare: ${fmt(summary.ratioToRelayed)}x (median of per-round ratios ${fmt(perRound("relayed"))}x); relayed/bare ${fmt(summary.relayed.allMs / summary.bare.allMs)}x, relay DO/bare ${fmt(summary.doRelayed.allMs / summary.bare.allMs)}x`);
    console.log(`  every listener: ${summary.changesPerListener} changes written; lost ${lost}, out of order ${outOfOrder}; violations ${violations.length}`);
    for (const v of violations.slice(0, 10)) console.log(`    ${v}`);
    console.log(`  ${describeCpu(cpu)}`);
    if (profile) console.log(describeProfile(profile));
    console.log(`  load average (1, 5, 15 min): start ${load.start.map((x) => x.toFixed(2)).join(", ")}; end ${load.end.map((x) => x.toFixed(2)).join(", ")}`);
    return { summary, rounds: results, violations, cpu, load, profile, config: { LISTENERS, ROUNDS, WARMUP, DOCS, QUERY } };
  } finally {
    await server.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }
}
