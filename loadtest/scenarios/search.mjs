// `npm run bench -- search` (issue 17), in one run:
// Part 1, full-text search: a word search answering 20 documents out of
// 100,000 task titles through POST /v1/query (the FTS5 search index), next
// to a `LIKE '%word%'` scan hand-written in SQL over `documents` and next to
// fetch-all (every document to the client, matched there); plus a common
// word (1 title in 20) whose 20 best matches are ranked by bm25.
// Part 2, group-by: aggregates per group over 100,000 documents through
// POST /v1/query, next to the same aggregation hand-written in SQL on the
// same D1 tables (json_extract over `documents`, as an analyst would write
// it) and next to fetch-all (the whole collection to the client, grouped
// there). BENCH_PARTS=search or =group-by runs one part.
import { startBenchServer } from "../lib/bench-server.mjs";
import { fmt, median, mustOk, timed } from "../lib/measure.mjs";

const SIZE = Number(process.env.BENCH_SIZE ?? 100_000);
const REPS = Number(process.env.BENCH_REPS ?? 15);
const FETCH_ALL_REPS = Number(process.env.BENCH_FETCH_ALL_REPS ?? 3);
const SEED_CHUNK = 2000;
const PARTS = (process.env.BENCH_PARTS ?? "search,group-by").split(",");

// The search seed's titles (searchDocument in loadtest/lib/seed-data.ts):
// "task <i> q<i mod 5000, 4 digits> <alpha if i mod 20 = 0, else beta> about the next release".
const RARE = "q0432";
const searchQueries = (collection) => ({
  [`rare word (${RARE}), limit 20`]: {
    blaze: { from: { collection }, search: { text: RARE }, limit: 20 },
    sql: {
      sql: `SELECT path, data FROM documents WHERE collection_path = ? AND json_extract(data, '$.title') LIKE ? LIMIT 20`,
      params: [collection, `%${RARE}%`],
    },
    client: (docs) => docs.filter((d) => d.data.title.toLowerCase().split(/[^\p{L}\p{N}]+/u).includes(RARE)).slice(0, 20),
    same: true,
  },
  "common word (alpha, 1 in 20), best 20 by bm25": {
    blaze: { from: { collection }, search: { text: "alpha" }, limit: 20 },
    sql: {
      sql: `SELECT path, data FROM documents WHERE collection_path = ? AND json_extract(data, '$.title') LIKE ? LIMIT 20`,
      params: [collection, "%alpha%"],
    },
    client: (docs) => docs.filter((d) => d.data.title.toLowerCase().split(/[^\p{L}\p{N}]+/u).includes("alpha")).slice(0, 20),
    // LIKE and the client take the first 20 they meet, Blaze the 20 best: only the count is compared.
    same: false,
  },
});

/**
 * One query three ways, same run: `q.blaze` through POST /v1/query (strong,
 * then eventual), `q.sql` through /__bench/sql, and fetch-all with
 * `q.client` applied on the client; 3 warm-up rounds, then REPS (fetch-all
 * FETCH_ALL_REPS) timed runs. Returns each way's runs and their medians.
 */
async function measure(server, collection, q) {
  const blazeRun = (body) => timed(async () => ({ result: await (await server.post("/v1/query", body)).json() }));
  const sqlRun = () => timed(async () => ({ result: await (await server.post("/__bench/sql", q.sql)).json() }));
  const fetchAllRun = () => timed(async () => ({ result: q.client(await (await fetch(`${server.url}/__bench/all?collection=${collection}`).then(mustOk)).json()) }));
  for (let i = 0; i < 3; i++) {
    await blazeRun(q.blaze);
    await sqlRun();
  }
  const b = [];
  const e = [];
  const s = [];
  for (let i = 0; i < REPS; i++) {
    b.push(await blazeRun(q.blaze));
    e.push(await blazeRun({ ...q.blaze, consistency: "eventual" }));
    s.push(await sqlRun());
  }
  const f = [];
  for (let i = 0; i < FETCH_ALL_REPS; i++) f.push(await fetchAllRun());
  const ms = (runs) => median(runs.map((x) => x.ms));
  return { blaze: b[0].result, sql: s[0].result, client: f[0].result, blazeMs: ms(b), eventualMs: ms(e), sqlMs: ms(s), fetchAllMs: ms(f) };
}

/** Seeds SIZE documents of `shape` through the bench Worker (the consumer's own statements). */
async function seedCollection(post, collection, shape) {
  const t0 = performance.now();
  for (let from = 0; from < SIZE; from += SEED_CHUNK) await post("/__bench/seed", { collection, from, count: Math.min(SEED_CHUNK, SIZE - from), ...(shape ? { shape } : {}) });
  console.log(`seeded ${SIZE} documents${shape ? ` (${shape})` : ""} in ${fmt((performance.now() - t0) / 1000, 1)} s`);
}

/** Part 1: medians of Blaze (strong and eventual), the LIKE scan and fetch-all per search. */
async function runSearch(server) {
  const collection = `searchbench/s${SIZE}/tasks`;
  await seedCollection(server.post, collection, "search");
  const results = {};
  for (const [name, q] of Object.entries(searchQueries(collection))) {
    const m = await measure(server, collection, q);
    const paths = (docs) => docs.map((d) => d.path).sort();
    const [bp, sp, fp] = [paths(m.blaze.docs), paths(m.sql.docs), paths(m.client)];
    const agree = q.same ? JSON.stringify(bp) === JSON.stringify(sp) && JSON.stringify(sp) === JSON.stringify(fp) : bp.length === 20 && sp.length === 20 && fp.length === 20;
    if (!agree) throw new Error(`${name}: Blaze, SQL and the client disagree: ${JSON.stringify([bp.slice(0, 3), sp.slice(0, 3), fp.slice(0, 3)])} (${bp.length}, ${sp.length}, ${fp.length})`);
    results[name] = { docs: bp.length, blazeMs: m.blazeMs, eventualMs: m.eventualMs, sqlMs: m.sqlMs, fetchAllMs: m.fetchAllMs };
  }
  console.log(`\npart 1, full-text search over ${SIZE} documents: median latency in ms (${REPS} runs each, concurrency 1; fetch-all ${FETCH_ALL_REPS} runs)`);
  console.log("Blaze = strong (the default); eventual = consistency: \"eventual\"; LIKE = `json_extract(data, '$.title') LIKE '%word%' LIMIT 20` over `documents`");
  console.log("search                                          docs   Blaze  eventual    LIKE  LIKE/Blaze  fetch-all  fetch-all/Blaze");
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `${name.padEnd(46)} ${String(r.docs).padStart(5)}  ${fmt(r.blazeMs, 1).padStart(6)}  ${fmt(r.eventualMs, 1).padStart(8)}  ${fmt(r.sqlMs, 1).padStart(6)}  ${fmt(r.sqlMs / r.blazeMs).padStart(9)}x  ${fmt(r.fetchAllMs, 0).padStart(9)}  ${fmt(r.fetchAllMs / r.blazeMs, 0).padStart(14)}x`,
    );
  }
  return results;
}

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
  try {
    const search = PARTS.includes("search") ? await runSearch(server) : null;
    const groupBy = PARTS.includes("group-by") ? await runGroupBy(server) : null;
    return { search, groupBy, config: { SIZE, REPS, FETCH_ALL_REPS } };
  } finally {
    await server.stop();
  }
}

/** Part 2: medians of Blaze (strong and eventual), hand-written SQL and fetch-all per group-by. */
async function runGroupBy(server) {
  const collection = `s${SIZE}`;
  {
    await seedCollection(server.post, collection);
    const results = {};
    for (const [name, q] of Object.entries(queries(collection))) {
      const m = await measure(server, collection, q);
      // Same groups, same counts, three ways.
      const blazeCounts = m.blaze.groups.map((g) => [g.key[0], g.aggregates.n]);
      const sqlCounts = m.sql.docs.map((r) => [r.age, r.n]);
      const clientCounts = m.client.map(([k, g]) => [k, g.n]);
      if (JSON.stringify(blazeCounts) !== JSON.stringify(sqlCounts) || JSON.stringify(sqlCounts) !== JSON.stringify(clientCounts)) {
        throw new Error(`${name}: Blaze, SQL and the client disagree: ${JSON.stringify([blazeCounts.slice(0, 3), sqlCounts.slice(0, 3), clientCounts.slice(0, 3)])}`);
      }
      results[name] = { groups: blazeCounts.length, blazeMs: m.blazeMs, eventualMs: m.eventualMs, sqlMs: m.sqlMs, fetchAllMs: m.fetchAllMs };
    }

    console.log(`\npart 2, group-by over ${SIZE} documents: median latency in ms (${REPS} runs each, concurrency 1; fetch-all ${FETCH_ALL_REPS} runs)`);
    console.log("Blaze = strong (the default); eventual = consistency: \"eventual\"; SQL = the same aggregation hand-written over `documents`");
    console.log("query                    groups   Blaze  eventual     SQL  Blaze/SQL  eventual/SQL  fetch-all  fetch-all/Blaze");
    for (const [name, r] of Object.entries(results)) {
      console.log(
        `${name.padEnd(24)} ${String(r.groups).padStart(6)}  ${fmt(r.blazeMs, 1).padStart(6)}  ${fmt(r.eventualMs, 1).padStart(8)}  ${fmt(r.sqlMs, 1).padStart(6)}  ${fmt(r.blazeMs / r.sqlMs).padStart(8)}x  ${fmt(r.eventualMs / r.sqlMs).padStart(11)}x  ${fmt(r.fetchAllMs, 0).padStart(9)}  ${fmt(r.fetchAllMs / r.blazeMs, 0).padStart(14)}x`,
      );
    }
    return results;
  }
}
