// `npm run bench -- search` (issue 17). Part 2, group-by: aggregates per
// group over 100,000 documents through POST /v1/query, next to the same
// aggregation hand-written in SQL on the same D1 tables (json_extract over
// `documents`, as an analyst would write it) and next to fetch-all (the
// whole collection to the client, grouped there), in one run.
// Part 1, full-text search, is not built yet (see docs/benchmarks.md).
import { startBenchServer } from "../lib/bench-server.mjs";
import { fmt, median, mustOk, timed } from "../lib/measure.mjs";

const SIZE = Number(process.env.BENCH_SIZE ?? 100_000);
const REPS = Number(process.env.BENCH_REPS ?? 15);
const FETCH_ALL_REPS = Number(process.env.BENCH_FETCH_ALL_REPS ?? 3);
const SEED_CHUNK = 2000;

/** Groups of the client-side way: a Map from key to running aggregates. */
function groupOnClient(docs, key, filter = () => true) {
  const groups = new Map();
  for (const d of docs) {
    if (!filter(d.data)) continue;
    const k = d.data[key];
    const g = groups.get(k) ?? { n: 0, total: 0, lo: Infinity, hi: -Infinity };
    g.n++;
    g.total += d.data.score;
    g.lo = Math.min(g.lo, d.data.score);
    g.hi = Math.max(g.hi, d.data.score);
    groups.set(k, g);
  }
  return [...groups.entries()].sort((a, b) => a[0] - b[0]);
}

// The seed's documents (loadtest/lib/seed-data.ts): age = i % 90, score = (i * 7919) % 10007, active every third.
const queries = (collection) => ({
  "age: count, sum, avg": {
    blaze: { from: { collection }, groupBy: ["age"], aggregate: { n: { count: true }, total: { sum: "score" }, mean: { avg: "score" } } },
    sql: {
      sql: `SELECT json_extract(data, '$.age') AS age, COUNT(*) AS n, TOTAL(json_extract(data, '$.score')) AS total, AVG(json_extract(data, '$.score')) AS mean
            FROM documents WHERE collection_path = ? GROUP BY age ORDER BY age`,
      params: [collection],
    },
    client: (docs) => groupOnClient(docs, "age"),
  },
  "active, age: min, max": {
    blaze: { from: { collection }, where: ["active", "==", true], groupBy: ["age"], aggregate: { n: { count: true }, lo: { min: "score" }, hi: { max: "score" } } },
    sql: {
      sql: `SELECT json_extract(data, '$.age') AS age, COUNT(*) AS n, MIN(json_extract(data, '$.score')) AS lo, MAX(json_extract(data, '$.score')) AS hi
            FROM documents WHERE collection_path = ? AND json_extract(data, '$.active') = 1 GROUP BY age ORDER BY age`,
      params: [collection],
    },
    client: (docs) => groupOnClient(docs, "age", (d) => d.active === true),
  },
});

export async function run() {
  const server = await startBenchServer("blaze-bench-search-");
  const post = server.post;
  const collection = `s${SIZE}`;
  try {
    const t0 = performance.now();
    for (let from = 0; from < SIZE; from += SEED_CHUNK) await post("/__bench/seed", { collection, from, count: Math.min(SEED_CHUNK, SIZE - from) });
    console.log(`seeded ${SIZE} documents in ${fmt((performance.now() - t0) / 1000, 1)} s`);

    const blazeRun = (body) => timed(async () => ({ result: await (await post("/v1/query", body)).json() }));
    const sqlRun = (q) => timed(async () => ({ result: await (await post("/__bench/sql", q)).json() }));
    const fetchAllRun = (client) => timed(async () => ({ result: client(await (await fetch(`${server.url}/__bench/all?collection=${collection}`).then(mustOk)).json()) }));

    const results = {};
    for (const [name, q] of Object.entries(queries(collection))) {
      for (let i = 0; i < 3; i++) {
        await blazeRun(q.blaze);
        await sqlRun(q.sql);
      }
      const b = [];
      const e = [];
      const s = [];
      for (let i = 0; i < REPS; i++) {
        b.push(await blazeRun(q.blaze));
        e.push(await blazeRun({ ...q.blaze, consistency: "eventual" }));
        s.push(await sqlRun(q.sql));
      }
      const f = [];
      for (let i = 0; i < FETCH_ALL_REPS; i++) f.push(await fetchAllRun(q.client));
      // Same groups, same counts, three ways.
      const blazeCounts = b[0].result.groups.map((g) => [g.key[0], g.aggregates.n]);
      const sqlCounts = s[0].result.docs.map((r) => [r.age, r.n]);
      const clientCounts = f[0].result.map(([k, g]) => [k, g.n]);
      if (JSON.stringify(blazeCounts) !== JSON.stringify(sqlCounts) || JSON.stringify(sqlCounts) !== JSON.stringify(clientCounts)) {
        throw new Error(`${name}: Blaze, SQL and the client disagree: ${JSON.stringify([blazeCounts.slice(0, 3), sqlCounts.slice(0, 3), clientCounts.slice(0, 3)])}`);
      }
      results[name] = {
        groups: blazeCounts.length,
        blazeMs: median(b.map((x) => x.ms)),
        eventualMs: median(e.map((x) => x.ms)),
        sqlMs: median(s.map((x) => x.ms)),
        fetchAllMs: median(f.map((x) => x.ms)),
      };
    }

    console.log(`\npart 1, full-text search: not built yet`);
    console.log(`\npart 2, group-by over ${SIZE} documents: median latency in ms (${REPS} runs each, concurrency 1; fetch-all ${FETCH_ALL_REPS} runs)`);
    console.log("Blaze = strong (the default); eventual = consistency: \"eventual\"; SQL = the same aggregation hand-written over `documents`");
    console.log("query                    groups   Blaze  eventual     SQL  Blaze/SQL  eventual/SQL  fetch-all  fetch-all/Blaze");
    for (const [name, r] of Object.entries(results)) {
      console.log(
        `${name.padEnd(24)} ${String(r.groups).padStart(6)}  ${fmt(r.blazeMs, 1).padStart(6)}  ${fmt(r.eventualMs, 1).padStart(8)}  ${fmt(r.sqlMs, 1).padStart(6)}  ${fmt(r.blazeMs / r.sqlMs).padStart(8)}x  ${fmt(r.eventualMs / r.sqlMs).padStart(11)}x  ${fmt(r.fetchAllMs, 0).padStart(9)}  ${fmt(r.fetchAllMs / r.blazeMs, 0).padStart(14)}x`,
      );
    }
    return { groupBy: results, config: { SIZE, REPS, FETCH_ALL_REPS } };
  } finally {
    await server.stop();
  }
}
