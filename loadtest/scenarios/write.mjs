// Write path: Blaze's PUT (validation, shard DO commit of document + change
// log + outbox, broadcast, alarm) against a bare DO SQLite write, and the same
// PUT with an Idempotency-Key (what every SDK write sends: a SHA-256 of the
// writes at the edge, one more row in the commit), through the same wrangler
// dev, interleaved in rounds so drift hits all three; then index lag
// (write acknowledged -> visible in D1) with paced writes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, startDevServer } from "../lib/dev-server.mjs";
import { writeBenchConfig } from "../lib/bench-config.mjs";
import { closedLoop, fmt, median, mustOk, summarize } from "../lib/measure.mjs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const PER_ROUND = Number(process.env.BENCH_WRITES ?? 1500);
const CONCURRENCY = 16;
const LAG_WRITES = 200;
const LAG_RATE = 50; // writes per second when measuring lag
const LISTENER_WRITES = 200;

export async function run() {
  const config = writeBenchConfig();
  const persistTo = mkdtempSync(join(tmpdir(), "blaze-bench-"));
  await migrate({ config, persistTo });
  const server = await startDevServer({ config, persistTo });
  const body = (i) => JSON.stringify({ title: `item ${i}`, n: i, tags: ["a", "b"], nested: { x: i % 7 } });
  const put = (url, headers = {}) =>
    fetch(url, { method: "PUT", body: body(Date.now()), headers: { "Content-Type": "application/json", ...headers } }).then(mustOk).then((r) => r.json());
  try {
    const bare = (i) => put(`${server.url}/__bench/bare/bench/d${i % 1000}`);
    const full = (i) => put(`${server.url}/v1/docs/bench/d${i % 1000}`);
    const keyed = (i) => put(`${server.url}/v1/docs/bench/d${i % 1000}`, { "Idempotency-Key": crypto.randomUUID() });
    // Warm up both paths (isolates, DOs, SQLite pages).
    await closedLoop({ total: 1000, concurrency: CONCURRENCY, op: bare });
    await closedLoop({ total: 1000, concurrency: CONCURRENCY, op: full });

    const rounds = [];
    for (let r = 0; r < ROUNDS; r++) {
      const b = await closedLoop({ total: PER_ROUND, concurrency: CONCURRENCY, op: bare });
      const f = await closedLoop({ total: PER_ROUND, concurrency: CONCURRENCY, op: full });
      const k = await closedLoop({ total: PER_ROUND, concurrency: CONCURRENCY, op: keyed });
      rounds.push({ bare: b, blaze: f, keyed: k, ratioP50: f.p50 / b.p50, ratioThroughput: b.perSecond / f.perSecond, keyedP50Ratio: k.p50 / f.p50, keyedThroughputRatio: f.perSecond / k.perSecond });
      console.log(
        `round ${r + 1}: bare ${fmt(b.perSecond, 0)}/s p50 ${fmt(b.p50)} p99 ${fmt(b.p99)} ms | blaze ${fmt(f.perSecond, 0)}/s p50 ${fmt(f.p50)} p99 ${fmt(f.p99)} ms | keyed ${fmt(k.perSecond, 0)}/s p50 ${fmt(k.p50)} p99 ${fmt(k.p99)} ms | p50 ratio ${fmt(f.p50 / b.p50)}x, keyed/unkeyed ${fmt(k.p50 / f.p50)}x`,
      );
    }

    // Index lag: paced writes, each polled in D1 until its version is visible.
    await new Promise((r) => setTimeout(r, 3000)); // let the queue drain the load above
    const lags = [];
    await Promise.all(
      Array.from({ length: LAG_WRITES }, async (_, i) => {
        await new Promise((r) => setTimeout(r, (i * 1000) / LAG_RATE));
        const path = `lag/d${i}`;
        const res = await put(`${server.url}/v1/docs/${path}`);
        const acked = performance.now();
        for (;;) {
          const v = await fetch(`${server.url}/__bench/d1-version?path=${path}`).then((r) => r.json());
          if (v.version >= res.version) break;
          if (performance.now() - acked > 30_000) throw new Error(`${path} not in D1 after 30 s`);
          await new Promise((r) => setTimeout(r, 2));
        }
        lags.push(performance.now() - acked);
      }),
    );
    const lag = summarize(lags);

    // Document listener: write sent -> change received on the WebSocket, paced.
    const listenerLatencies = await listenerLatency(server.url, put, await server.adminKey());
    const listener = summarize(listenerLatencies.relay);
    const listenerDirect = summarize(listenerLatencies.direct);
    const summary = {
      bareWritesPerSecond: median(rounds.map((r) => r.bare.perSecond)),
      blazeWritesPerSecond: median(rounds.map((r) => r.blaze.perSecond)),
      bareP50: median(rounds.map((r) => r.bare.p50)),
      bareP99: median(rounds.map((r) => r.bare.p99)),
      blazeP50: median(rounds.map((r) => r.blaze.p50)),
      blazeP99: median(rounds.map((r) => r.blaze.p99)),
      p50Ratio: median(rounds.map((r) => r.ratioP50)),
      throughputRatio: median(rounds.map((r) => r.ratioThroughput)),
      keyedWritesPerSecond: median(rounds.map((r) => r.keyed.perSecond)),
      keyedP50: median(rounds.map((r) => r.keyed.p50)),
      keyedP99: median(rounds.map((r) => r.keyed.p99)),
      keyedP50Ratio: median(rounds.map((r) => r.keyedP50Ratio)),
      keyedThroughputRatio: median(rounds.map((r) => r.keyedThroughputRatio)),
      indexLagP50: lag.p50,
      indexLagP99: lag.p99,
      listenerP50: listener.p50,
      listenerP99: listener.p99,
      listenerDirectP50: listenerDirect.p50,
      listenerDirectP99: listenerDirect.p99,
    };
    console.log(`\nwrite path (median of ${ROUNDS} rounds, ${PER_ROUND} writes each, concurrency ${CONCURRENCY}):`);
    console.log(`  bare DO SQLite write: ${fmt(summary.bareWritesPerSecond, 0)}/s, p50 ${fmt(summary.bareP50)} ms, p99 ${fmt(summary.bareP99)} ms`);
    console.log(`  Blaze PUT:            ${fmt(summary.blazeWritesPerSecond, 0)}/s, p50 ${fmt(summary.blazeP50)} ms, p99 ${fmt(summary.blazeP99)} ms`);
    console.log(`  Blaze PUT, keyed:     ${fmt(summary.keyedWritesPerSecond, 0)}/s, p50 ${fmt(summary.keyedP50)} ms, p99 ${fmt(summary.keyedP99)} ms`);
    console.log(`  ratio Blaze/bare: p50 latency ${fmt(summary.p50Ratio)}x, throughput ${fmt(summary.throughputRatio)}x (target <= 1.5x)`);
    console.log(`  ratio keyed/unkeyed PUT: p50 latency ${fmt(summary.keyedP50Ratio)}x, throughput ${fmt(summary.keyedThroughputRatio)}x`);
    console.log(`index lag (${LAG_WRITES} writes paced at ${LAG_RATE}/s): p50 ${fmt(lag.p50)} ms, p99 ${fmt(lag.p99)} ms`);
    console.log(`document listener, write sent -> change received (${LISTENER_WRITES} writes paced at ${LAG_RATE}/s):`);
    console.log(`  one socket per client (/v1/listen): p50 ${fmt(listener.p50)} ms, p99 ${fmt(listener.p99)} ms`);
    console.log(`  straight to the shard (?doc=):      p50 ${fmt(listenerDirect.p50)} ms, p99 ${fmt(listenerDirect.p99)} ms`);
    console.log(`  relay/direct p50 ${fmt(listener.p50 / listenerDirect.p50)}x (aim 1.2x)`);
    return { rounds, summary, config: { ROUNDS, PER_ROUND, CONCURRENCY, LAG_WRITES, LAG_RATE } };
  } finally {
    await server.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }
}

/**
 * Listens to one document twice, through the one-socket relay
 * (`/v1/listen`) and straight to its shard (`/v1/listen?doc=`), and times
 * each paced write until its change arrives on each. One write is in flight
 * at a time, so the next change message is that write's (it may arrive
 * before the HTTP response does).
 */
async function listenerLatency(url, put, adminKey) {
  const path = "listen/doc";
  await put(`${url}/v1/docs/${path}`);
  const open = async (query, protocols) => {
    const ws = new WebSocket(`${url.replace("http", "ws")}/v1/listen${query}`, protocols);
    let onMessage = null;
    ws.addEventListener("message", (e) => onMessage?.(JSON.parse(e.data)));
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve);
      ws.addEventListener("error", reject);
    });
    const next = () => new Promise((resolve) => (onMessage = (m) => resolve([performance.now(), m])));
    const initial = next();
    ws.send(JSON.stringify({ op: "listen", id: 1, doc: path }));
    await initial;
    return { ws, next };
  };
  const relay = await open("");
  // The internal route is admin only; a WebSocket offers its key as a subprotocol (docs/security.md, "WebSockets").
  const direct = await open(`?doc=${path}`, ["blaze.v1", `blaze.auth.${Buffer.from(adminKey).toString("base64url")}`]);
  const latencies = { relay: [], direct: [] };
  for (let i = 0; i < LISTENER_WRITES; i++) {
    const changes = [relay.next(), direct.next()];
    const sent = performance.now();
    const [, viaRelay, viaShard] = await Promise.all([put(`${url}/v1/docs/${path}`), ...changes]);
    for (const [, message] of [viaRelay, viaShard]) {
      if (message.changes?.[0]?.type !== "modified") throw new Error(`unexpected listener message ${JSON.stringify(message)}`);
    }
    latencies.relay.push(viaRelay[0] - sent);
    latencies.direct.push(viaShard[0] - sent);
    await new Promise((r) => setTimeout(r, 1000 / LAG_RATE));
  }
  relay.ws.close();
  direct.ws.close();
  return latencies;
}
