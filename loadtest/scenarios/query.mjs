// Queries on 10,000 and 100,000 documents, side by side in one run:
// Blaze's POST /v1/query against (a) the same query hand-written in SQL on
// the same D1 tables, (b) the seed demo's way (fetch the whole collection,
// filter and sort on the client), and (c) itself on 10x fewer documents.
import { startBenchServer } from "../lib/bench-server.mjs";
import { fmt, median, mustOk, timed } from "../lib/measure.mjs";

const SIZES = (process.env.BENCH_SIZES ?? "10000,100000").split(",").map(Number);
const REPS = Number(process.env.BENCH_REPS ?? 40);
const FETCH_ALL_REPS = Number(process.env.BENCH_FETCH_ALL_REPS ?? 5);
// Fetching a whole collection above this size would exhaust the Worker's memory (and prove nothing new):
// larger sizes check Blaze's answer against the hand-written SQL's instead.
const FETCH_ALL_MAX = Number(process.env.BENCH_FETCH_ALL_MAX ?? 100_000);
const SEED_CHUNK = 2000;
const PACED_WRITE_MS = Number(process.env.BENCH_PACED_WRITE_MS ?? 50);

const DOC_COLUMNS = "d.path, d.doc_id AS id, d.data, d.version, d.create_time AS createTime, d.update_time AS updateTime";

/** The three queries: Blaze's body, the hand-written SQL, and the client-side filter of the seed's way. */
const queries = (collection) => ({
  equality: {
    blaze: { from: { collection }, where: ["city", "==", "c7"], limit: 100 },
    sql: {
      sql: `SELECT ${DOC_COLUMNS} FROM index_entries e JOIN documents d ON d.path = e.doc_path
            WHERE e.collection_path = ? AND e.field = 'city' AND e.kind = 'value' AND e.value = ? ORDER BY e.doc_key LIMIT 100`,
      params: [collection, { encode: "c7" }],
    },
    client: (docs) => docs.filter((d) => d.data.city === "c7").sort(byPath).slice(0, 100),
  },
  rangeOrderLimit: {
    blaze: { from: { collection }, where: ["age", ">=", 30], orderBy: [["age", "asc"]], limit: 20 },
    sql: {
      sql: `SELECT ${DOC_COLUMNS} FROM index_entries e JOIN documents d ON d.path = e.doc_path
            WHERE e.collection_path = ? AND e.field = 'age' AND e.kind = 'value' AND e.value >= ? AND e.value < x'40'
            ORDER BY e.value, e.doc_key LIMIT 20`,
      params: [collection, { encode: 30 }],
    },
    client: (docs) =>
      docs
        .filter((d) => typeof d.data.age === "number" && d.data.age >= 30)
        .sort((a, b) => a.data.age - b.data.age || byPath(a, b))
        .slice(0, 20),
  },
  count: {
    blaze: { from: { collection }, where: ["city", "==", "c7"], aggregate: { n: { count: true } } },
    sql: {
      sql: `SELECT COUNT(*) AS n FROM index_entries e WHERE e.collection_path = ? AND e.field = 'city' AND e.kind = 'value' AND e.value = ?`,
      params: [collection, { encode: "c7" }],
    },
    client: (docs) => ({ n: docs.filter((d) => d.data.city === "c7").length }),
  },
});

const byPath = (a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

export async function run() {
  const server = await startBenchServer("blaze-bench-q-");
  const post = server.post;
  try {
    for (const size of SIZES) {
      const t0 = performance.now();
      for (let from = 0; from < size; from += SEED_CHUNK) {
        await post("/__bench/seed", { collection: `q${size}`, from, count: Math.min(SEED_CHUNK, size - from) });
      }
      console.log(`seeded ${size} documents in ${fmt((performance.now() - t0) / 1000, 1)} s`);
    }

    const blazeRun = (body) => timed(async () => {
      const res = await post("/v1/query", body);
      const text = await res.text();
      return { bytes: text.length, result: JSON.parse(text) };
    });
    const sqlRun = (q) => timed(async () => {
      const text = await (await post("/__bench/sql", q)).text();
      return { bytes: text.length, result: JSON.parse(text) };
    });
    const fetchAllRun = (collection, filter) => timed(async () => {
      const text = await (await fetch(`${server.url}/__bench/all?collection=${collection}`).then(mustOk)).text();
      return { bytes: text.length, result: filter(JSON.parse(text)) };
    });

    const results = {};
    for (const size of SIZES) {
      const qs = queries(`q${size}`);
      for (const [name, q] of Object.entries(qs)) {
        // Warm up, then interleave Blaze and the SQL baseline so drift hits both.
        for (let i = 0; i < 5; i++) {
          await blazeRun(q.blaze);
          await sqlRun(q.sql);
        }
        const b = [];
        const s = [];
        const e = [];
        for (let i = 0; i < REPS; i++) {
          b.push(await blazeRun(q.blaze));
          s.push(await sqlRun(q.sql));
          e.push(await blazeRun({ ...q.blaze, consistency: "eventual" }));
        }
        const f = [];
        if (size <= FETCH_ALL_MAX) for (let i = 0; i < FETCH_ALL_REPS; i++) f.push(await fetchAllRun(`q${size}`, q.client));
        const check = b[0].result;
        const got = check.docs ? check.docs.length : JSON.stringify(check.aggregates);
        const want = f.length
          ? Array.isArray(f[0].result) ? f[0].result.length : JSON.stringify(f[0].result)
          : check.docs ? s[0].result.docs.length : JSON.stringify(s[0].result.docs[0]);
        if (String(got) !== String(want)) throw new Error(`${name} on ${size}: Blaze returned ${got}, the ${f.length ? "client filter" : "hand-written SQL"} ${want}`);
        results[`${name}@${size}`] = {
          blazeMs: median(b.map((x) => x.ms)),
          eventualMs: median(e.map((x) => x.ms)),
          sqlMs: median(s.map((x) => x.ms)),
          fetchAllMs: median(f.map((x) => x.ms)),
          blazeBytes: b[0].bytes,
          sqlBytes: s[0].bytes,
          fetchAllBytes: f[0]?.bytes,
          results: got,
        };
      }
    }

    console.log(`\nmedian latency in ms (${REPS} runs each, concurrency 1; fetch-all ${FETCH_ALL_REPS} runs)`);
    console.log("Blaze = strong (the default); eventual = consistency: \"eventual\"; SQL = the same query hand-written");
    console.log("query            docs     Blaze  eventual  SQL     Blaze/SQL  eventual/SQL  strong/eventual  fetch-all  speedup  bytes ratio");
    for (const [key, r] of Object.entries(results)) {
      const [name, size] = key.split("@");
      console.log(
        `${name.padEnd(16)} ${size.padStart(8)}  ${fmt(r.blazeMs).padStart(6)}  ${fmt(r.eventualMs).padStart(6)}  ${fmt(r.sqlMs).padStart(6)}  ${fmt(r.blazeMs / r.sqlMs).padStart(8)}x  ${fmt(r.eventualMs / r.sqlMs).padStart(10)}x  ${fmt(r.blazeMs / r.eventualMs).padStart(13)}x  ${fmt(r.fetchAllMs, 0).padStart(8)}  ${fmt(r.fetchAllMs / r.blazeMs, 0).padStart(6)}x  ${fmt(r.fetchAllBytes / r.blazeBytes, 0).padStart(8)}x`,
      );
    }

    // Strong next to eventual while writes are paced (one every PACED_WRITE_MS, to another collection).
    const paced = queries(`q${SIZES[0]}`).equality.blaze;
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await fetch(`${server.url}/v1/docs/paced/w${written % 500}`, { method: "PUT", body: JSON.stringify({ n: written++ }) }).then(mustOk);
        await new Promise((r) => setTimeout(r, PACED_WRITE_MS));
      }
    })();
    const ps = [];
    const pe = [];
    for (let i = 0; i < REPS; i++) {
      ps.push((await blazeRun(paced)).ms);
      pe.push((await blazeRun({ ...paced, consistency: "eventual" })).ms);
    }
    writing = false;
    await writer;
    const pacedResult = { strongMs: median(ps), eventualMs: median(pe), writes: written };
    console.log(
      `\nwith a write every ${PACED_WRITE_MS} ms (${written} writes): equality@${SIZES[0]} strong ${fmt(pacedResult.strongMs)} ms, ` +
        `eventual ${fmt(pacedResult.eventualMs)} ms, strong/eventual ${fmt(pacedResult.strongMs / pacedResult.eventualMs)}x (limit 2x)`,
    );
    results.paced = pacedResult;
    if (SIZES.length === 2) {
      const [small, big] = SIZES;
      console.log(`\nscaling ${big} vs ${small} documents (Blaze latency ratio, target <= 1.3x):`);
      for (const name of Object.keys(queries("x"))) {
        const r = results[`${name}@${big}`].blazeMs / results[`${name}@${small}`].blazeMs;
        const rs = results[`${name}@${big}`].sqlMs / results[`${name}@${small}`].sqlMs;
        console.log(`  ${name.padEnd(16)} Blaze ${fmt(r)}x   (hand-written SQL ${fmt(rs)}x)`);
      }
    }
    return { results, config: { SIZES, REPS, FETCH_ALL_REPS } };
  } finally {
    await server.stop();
  }
}
