// Live queries: write -> listener latency through the one client socket,
// for a document listener and for query listeners (a filter, a limit
// window), paced; then the same latency and the write throughput with 0, 10
// and 100 other distinct live queries registered on the collection.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, startDevServer } from "../lib/dev-server.mjs";
import { writeBenchConfig } from "../lib/bench-config.mjs";
import { closedLoop, fmt, mustOk, summarize } from "../lib/measure.mjs";

const WRITES = Number(process.env.BENCH_LIVE_WRITES ?? 150);
const RATE = 50; // paced writes per second
const DISTINCT = (process.env.BENCH_LIVE_DISTINCT ?? "0,10,100").split(",").map(Number);
const THROUGHPUT_WRITES = 600;

/** One client socket: listen, and wait for the next message of a listener. */
async function openSocket(url) {
  const ws = new WebSocket(`${url.replace("http", "ws")}/v1/listen`);
  const waiting = new Map();
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(e.data);
    const w = waiting.get(m.id);
    if (w) {
      waiting.delete(m.id);
      w([performance.now(), m]);
    }
  });
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve);
    ws.addEventListener("error", reject);
  });
  const next = (id) => new Promise((resolve) => waiting.set(id, resolve));
  const listen = async (id, frame) => {
    const first = next(id);
    ws.send(JSON.stringify({ op: "listen", id, ...frame }));
    const [, m] = await first;
    if (m.type !== "snapshot") throw new Error(`listener ${id}: ${JSON.stringify(m)}`);
  };
  return { ws, next, listen };
}

export async function run() {
  const config = writeBenchConfig();
  const persistTo = mkdtempSync(join(tmpdir(), "blaze-bench-live-"));
  await migrate({ config, persistTo });
  const server = await startDevServer({ config, persistTo });
  const call = (method, path, body) =>
    fetch(`${server.url}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { "Content-Type": "application/json" } }).then(mustOk);
  try {
    const writes = Array.from({ length: 50 }, (_, i) => ({ op: "set", path: `live/d${i}`, data: { n: i, open: i % 2 === 0 } }));
    await call("POST", "/v1/batch", { writes });

    const results = {};
    for (const distinct of DISTINCT) {
      // Other live queries on the same collection, all different, none matching the writes below.
      const others = await openSocket(server.url);
      for (let j = 0; j < distinct; j++) await others.listen(`o${j}`, { query: { from: { collection: "live" }, where: ["n", ">=", 1e9 + j] } });

      const s = await openSocket(server.url);
      await s.listen("doc", { doc: "live/d0" });
      await s.listen("filter", { query: { from: { collection: "live" }, where: ["open", "==", true] } });
      await s.listen("window", { query: { from: { collection: "live" }, orderBy: [["n", "desc"]], limit: 10 } });
      const lat = { doc: [], filter: [], window: [] };
      for (let k = 0; k < WRITES; k++) {
        const waits = ["doc", "filter", "window"].map((id) => s.next(id));
        const sent = performance.now();
        await call("PATCH", "/v1/docs/live/d0", { n: 100 + distinct * 1000 + k, open: true });
        const got = await Promise.all(waits);
        ["doc", "filter", "window"].forEach((id, i) => lat[id].push(got[i][0] - sent));
        await new Promise((r) => setTimeout(r, 1000 / RATE));
      }
      const put = (i) => call("PUT", `/v1/docs/live/t${i % 200}`, { n: -1 - (i % 200), open: false });
      const throughput = await closedLoop({ total: THROUGHPUT_WRITES, concurrency: 16, op: put });
      const row = {
        doc: summarize(lat.doc),
        filter: summarize(lat.filter),
        window: summarize(lat.window),
        writesPerSecond: throughput.perSecond,
      };
      results[distinct] = row;
      console.log(
        `${String(distinct).padStart(4)} other live queries: write -> listener p50/p99 ms: document ${fmt(row.doc.p50)}/${fmt(row.doc.p99)}, ` +
          `query filter ${fmt(row.filter.p50)}/${fmt(row.filter.p99)}, limit window ${fmt(row.window.p50)}/${fmt(row.window.p99)}; ` +
          `writes ${fmt(row.writesPerSecond, 0)}/s (concurrency 16)`,
      );
      s.ws.close();
      others.ws.close();
      // Let the index absorb the throughput run before the next round's strong first reads.
      for (const end = Date.now() + 120_000; Date.now() < end; ) {
        const status = await (await fetch(`${server.url}/v1/status`, { headers: await server.adminHeaders() }).then(mustOk)).json();
        if (status.index.lagChanges === 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const base = results[DISTINCT[0]];
    for (const d of DISTINCT.slice(1)) {
      const r = results[d];
      console.log(
        `${d} vs ${DISTINCT[0]} other queries: query listener p50 ${fmt(r.filter.p50 / base.filter.p50)}x, write throughput ${fmt(base.writesPerSecond / r.writesPerSecond)}x slower (aim 1.2x)`,
      );
    }
    return { results, config: { WRITES, RATE, DISTINCT, THROUGHPUT_WRITES } };
  } finally {
    await server.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }
}
