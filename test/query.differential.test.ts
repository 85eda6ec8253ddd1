/**
 * Differential property: random documents and random queries give the same
 * results, order included, from the D1 planner (real D1, real index code
 * path) as from the in-memory reference evaluator.
 *
 * Documents are written with applyStatements, as the consumer writes them.
 * A query the planner refuses for want of a composite index is retried with
 * the index it asked for declared (its entries written, its build marked
 * ready), and must then succeed.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BlazeError } from "../engine/core/errors";
import { numberOf, type DocumentData, type Value } from "../engine/core/values";
import type { Change } from "../engine/core/writes";
import { applyStatements, type ResolvedChange } from "../engine/index/apply";
import { parseIndexConfig } from "../engine/index/config";
import type { IndexConfig } from "../engine/index/config-types";
import { runBatch } from "../engine/index/d1";
import { indexShardOf, parseTopology, type IndexTopology } from "../engine/index/routing";
import { parseDocumentPath } from "../engine/core/paths";
import { parseQuery, type QueryAst } from "../engine/core/query/ast";
import { runQueryInMemory } from "../engine/core/query/evaluate";
import { runQuery, type QueryDeps } from "../engine/query/executor";
import { normalizeQuery, type NormalizedQuery } from "../engine/core/query/normalize";
import { planQuery, type IndexDefinition } from "../engine/query/planner";

// ------------------------------------------------------------------ values and documents

const SCALARS: Value[] = [
  null,
  false,
  true,
  -1,
  0,
  1,
  1.5,
  2,
  10,
  "",
  "a",
  "ab",
  "b",
  { $timestamp: "2020-01-01T00:00:00.000000000Z" },
  { $timestamp: "2021-06-01T12:00:00.500000000Z" },
  { $bytes: "AAE=" },
  { $bytes: "AQ==" },
  { $ref: "c/d1" },
  { $double: "NaN" },
  { $double: "Infinity" },
  { $double: "-Infinity" },
  { $double: "-0" },
  { $geo: { latitude: 1, longitude: 2 } },
  { $geo: { latitude: -1, longitude: 5 } },
];
const COMPOUND: Value[] = [[], [1], [1, 2], ["a"], [null], { x: 1 }, {}, { x: "a" }];
const POOL = [...SCALARS, ...COMPOUND];

// Mostly a few common values, so filters match often; sometimes anything.
const COMMON: Value[] = [null, true, 1, 1.5, 2, "a", "b", { $double: "NaN" }, { $timestamp: "2020-01-01T00:00:00.000000000Z" }, [1]];
const valueArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...COMMON) }, { weight: 2, arbitrary: fc.constantFrom(...POOL) });
const scalarArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...COMMON.slice(0, -1)) }, { weight: 1, arbitrary: fc.constantFrom(...SCALARS) });

const dataArb: fc.Arbitrary<DocumentData> = fc
  .record(
    {
      a: valueArb,
      b: valueArb,
      m: fc.oneof(fc.record({ x: valueArb }, { requiredKeys: [] }), valueArb),
      tags: fc.oneof({ weight: 4, arbitrary: fc.array(scalarArb, { maxLength: 3 }) }, { weight: 1, arbitrary: valueArb }),
      // A field whose name holds a dot: addressed as `a.b`, never as the nested a -> b.
      "a.b": valueArb,
    },
    { requiredKeys: [] },
  )
  .map((d) => d as DocumentData);

/** Paths: the collection "c", a subcollection also named "c" (collection groups), and noise. */
const PATHS = [
  ...Array.from({ length: 10 }, (_, i) => `c/d${i}`),
  "c/d-1",
  "c/d.x",
  "p/p1/c/s1",
  "p/p1/c/s2",
  "p/p2/c/d1",
  "e/d1",
];

const docsArb = fc.uniqueArray(fc.record({ path: fc.constantFrom(...PATHS), data: dataArb }), {
  selector: (d) => d.path,
  minLength: 4,
  maxLength: 16,
});

// ------------------------------------------------------------------ queries

const FIELDS = ["a", "b", "m.x", "tags", "m", "`a.b`"];
const OPS = ["==", "!=", "<", "<=", ">", ">=", "array-contains", "array-contains-any", "in", "not-in"] as const;

const leafArb = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom(...OPS), valueArb, fc.array(valueArb, { minLength: 1, maxLength: 3 })).map(
      ([field, op, v, vs]) => [field, op, op === "in" || op === "not-in" || op === "array-contains-any" ? vs : v] as [string, string, Value],
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom("==", "!=", "<", ">=", "in", "not-in"), fc.constantFrom("d1", "d3", "d-1", "d9"))
      .map(([op, id]) => ["__name__", op, op === "in" || op === "not-in" ? [id, "d5"] : id] as [string, string, Value]),
  },
);

/** A leaf, an and/or of leaves, or an and holding an or: small trees reach every planner rule. */
const leavesArb = fc.array(leafArb, { minLength: 2, maxLength: 3 });
const whereArb = fc.oneof(
  { weight: 4, arbitrary: leafArb },
  { weight: 3, arbitrary: leavesArb.map((and) => ({ and })) },
  { weight: 2, arbitrary: leavesArb.map((or) => ({ or })) },
  { weight: 1, arbitrary: fc.tuple(leafArb, leavesArb).map(([l, or]) => ({ and: [l, { or }] })) },
);

const cursorArb = fc.record({
  kind: fc.constantFrom("startAt", "startAfter", "endAt", "endBefore"),
  length: fc.integer({ min: 1, max: 3 }),
  seeds: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
});

const queryArb = fc.record(
  {
    from: fc.constantFrom<QueryAst["from"]>(
      { collection: "c" },
      { collection: "c" },
      { collectionGroup: "c" },
      { collection: "p/p1/c" },
    ),
    where: whereArb,
    orderBy: fc.uniqueArray(fc.tuple(fc.constantFrom("a", "b", "m.x", "`a.b`", "__name__"), fc.constantFrom("asc", "desc")), {
      selector: (o) => o[0],
      maxLength: 2,
    }),
    limit: fc.integer({ min: 1, max: 5 }),
    limitToLast: fc.integer({ min: 1, max: 5 }),
    cursors: fc.array(cursorArb, { maxLength: 2 }),
    select: fc.subarray(["a", "m.x", "tags", "`a.b`"], { minLength: 1 }),
    aggregate: fc.constantFrom<QueryAst["aggregate"]>(
      { n: { count: true } },
      { n: { count: true }, s: { sum: "a" }, v: { avg: "b" } },
      { s: { sum: "m.x" }, v: { avg: "a" } },
      { s: { sum: "`a.b`" }, v: { avg: "`a.b`" } },
    ),
  },
  { requiredKeys: ["from"] },
);

type GenQuery = typeof queryArb extends fc.Arbitrary<infer T> ? T : never;

/** The AST of a generated query; cursor values fit the resolved orderBy (document ids at __name__). */
function buildAst(g: GenQuery): QueryAst | null {
  const ast: QueryAst = { from: g.from };
  if (g.where !== undefined) ast.where = g.where as QueryAst["where"];
  if (g.orderBy?.length) ast.orderBy = g.orderBy as [string, "asc" | "desc"][];
  if (g.limit !== undefined && g.limitToLast === undefined) ast.limit = g.limit;
  if (g.limitToLast !== undefined && ast.orderBy) ast.limitToLast = g.limitToLast;
  if (g.aggregate !== undefined) ast.aggregate = g.aggregate;
  else if (g.select !== undefined) ast.select = g.select;
  let order: NormalizedQuery["orderBy"];
  try {
    order = normalizeQuery(parseQuery(ast)).orderBy;
  } catch {
    return null;
  }
  for (const c of g.cursors ?? []) {
    const n = Math.min(c.length, order.findIndex((o) => o.field === "__name__") + 1);
    const values = order.slice(0, n).map((o, i) => {
      if (o.field !== "__name__") return POOL[c.seeds[i] % POOL.length];
      const path = PATHS[c.seeds[i] % PATHS.length];
      return "collectionGroup" in g.from ? path : path.split("/").pop()!;
    });
    (ast as unknown as Record<string, Value[]>)[c.kind] = values;
  }
  return ast;
}

// ------------------------------------------------------------------ the index

const definitions: IndexDefinition[] = [];
let config: IndexConfig = parseIndexConfig({ indexes: [] });

/** One index shard, or two with the collection id "c" split over both (scatter and merge). */
interface Layout {
  topology: IndexTopology;
  dbs: D1Database[];
}
const ONE: Layout = { topology: parseTopology({ INDEX_SHARDS: "DB" }), dbs: [env.DB] };
const TWO: Layout = { topology: parseTopology({ INDEX_SHARDS: "DB,DB2", INDEX_SPLIT_COLLECTIONS: "c" }), dbs: [env.DB, env.DB2] };

function deps(layout: Layout): QueryDeps {
  return { dbs: layout.dbs, topology: layout.topology, config, meta: layout.dbs[0] };
}

let seq = 0;

function changesFor(docs: { path: string; data: DocumentData }[]): Change[] {
  return docs.map((d) => {
    seq++;
    const t = new Date(1_700_000_000_000 + seq).toISOString();
    return { shard: 1, seq, path: d.path, op: "set", version: 1, data: d.data, createTime: t, updateTime: t, existed: false };
  });
}

async function markReady(layout: Layout) {
  if (config.indexes.length === 0) return;
  const now = new Date().toISOString();
  for (const db of layout.dbs) {
    await db.batch(
      config.indexes.map((i) =>
        db.prepare(`INSERT OR REPLACE INTO index_builds (index_id, state, cursor_path, updated_at) VALUES (?, 'ready', '', ?)`).bind(i.id, now),
      ),
    );
  }
}

/** Applies the documents to their index shards as the consumer routes them. */
async function applyDocs(layout: Layout, changes: Change[]) {
  const byShard = layout.dbs.map(() => [] as Change[]);
  for (const c of changes) {
    const p = parseDocumentPath(c.path);
    byShard[indexShardOf(layout.topology, p.collectionId, c.path)].push(c);
  }
  await Promise.all(layout.dbs.map((db, i) => runBatch(db, applyStatements(byShard[i] as ResolvedChange[], config))));
}

async function writeDocs(layout: Layout, changes: Change[]) {
  for (const db of layout.dbs) {
    await db.batch(["documents", "tombstones", "index_entries", "composite_entries"].map((t) => db.prepare(`DELETE FROM ${t}`)));
  }
  await applyDocs(layout, changes);
  await markReady(layout);
}

// ------------------------------------------------------------------ comparison

/** Equal aggregate values: tagged numbers exactly (NaN equals NaN), plain ones within rounding. */
const close = (x: Value | undefined, y: Value | undefined) => {
  const [a, b] = [numberOf(x), numberOf(y)];
  if (a === undefined || b === undefined) return x === y;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
};

const declined: Record<string, number> = {};
const rules: Record<string, number> = {};
const stats = { queries: 0, invalid: 0, declined: 0, indexesAdded: 0, compared: 0, nonEmpty: 0 };

async function check(layout: Layout, docs: { path: string; data: DocumentData }[], changes: Change[], ast: QueryAst) {
  let nq: NormalizedQuery;
  try {
    nq = normalizeQuery(parseQuery(ast));
  } catch (e) {
    if (e instanceof BlazeError && e.code === "INVALID_ARGUMENT") {
      stats.invalid++;
      return;
    }
    throw e;
  }
  stats.queries++;
  let result;
  for (let attempt = 0; ; attempt++) {
    try {
      result = await runQuery(deps(layout), nq);
      break;
    } catch (e) {
      if (!(e instanceof BlazeError) || e.code !== "FAILED_PRECONDITION") throw e;
      const details = e.details as { index?: IndexDefinition; reason?: string } | undefined;
      if (details?.reason === "name-direction" || details?.reason === "unindexable") {
        stats.declined++;
        declined[details.reason] = (declined[details.reason] ?? 0) + 1;
        return;
      }
      if (!details?.index || attempt > 30) throw new Error(`${e.message} (after ${attempt} new indexes) for ${JSON.stringify(ast)}`);
      definitions.push(details.index);
      config = parseIndexConfig({ indexes: definitions });
      stats.indexesAdded++;
      await applyDocs(layout, changes);
      await markReady(layout);
    }
  }
  const expected = runQueryInMemory(docs, nq);
  stats.compared++;
  for (const d of planQuery(nq, { config }).disjunctions) rules[d.rule] = (rules[d.rule] ?? 0) + 1;
  if (expected.docs.length > 0) stats.nonEmpty++;
  const where = `query ${JSON.stringify(ast)}`;
  if (nq.aggregate) {
    for (const a of nq.aggregate) {
      if (!close(result.aggregates![a.alias], expected.aggregates![a.alias])) {
        expect.fail(`${where}: aggregate ${a.alias} = ${result.aggregates![a.alias]}, expected ${expected.aggregates![a.alias]}`);
      }
    }
    return;
  }
  expect(result.docs.map((d) => ({ path: d.path, data: d.data })), where).toEqual(expected.docs.map((d) => ({ path: d.path, data: d.data })));
}

async function property(layout: Layout, numRuns: number) {
  await fc.assert(
    fc.asyncProperty(docsArb, fc.array(queryArb, { minLength: 20, maxLength: 20 }), async (docs, queries) => {
      const changes = changesFor(docs);
      await writeDocs(layout, changes);
      for (const g of queries) {
        const ast = buildAst(g);
        if (ast) await check(layout, docs, changes, ast);
      }
    }),
    { numRuns },
  );
}

describe("query planner vs reference evaluator (property)", () => {
  it("gives the same results, in the same order, on one index shard", async () => {
    await property(ONE, 200);
    console.log(`differential, one shard: ${JSON.stringify({ ...stats, declined, rules })}`);
    expect(stats.compared).toBeGreaterThan(2000);
    expect(stats.nonEmpty).toBeGreaterThan(500);
    for (const rule of ["documents", "equality", "single-field", "composite"]) expect(rules[rule]).toBeGreaterThan(100);
  }, 120_000);

  it("gives the same results with the collection split over two index shards (scatter, merge, limits)", async () => {
    const before = stats.compared;
    await property(TWO, 100);
    console.log(`differential, two shards: ${JSON.stringify({ ...stats, declined, rules })}`);
    expect(stats.compared - before).toBeGreaterThan(1000);
  }, 120_000);
});
