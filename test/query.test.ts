/**
 * POST /v1/query over HTTP, against the whole Worker: documents written with
 * PUT travel shard -> outbox -> queue -> consumer -> D1, and queries wait for
 * them with `after` (read-your-writes). Tests run with two index shards and
 * the collection "events" split over both (vitest.config.ts).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BlazeError } from "../engine/core/errors";
import type { DocumentData, Value } from "../engine/core/values";
import { parseIndexConfig } from "../engine/index/config";
import { parseTopology } from "../engine/index/routing";
import { parseQuery } from "../engine/core/query/ast";
import { runQuery, waitForIndex } from "../engine/query/executor";
import { normalizeQuery } from "../engine/core/query/normalize";
import { api, seed } from "./helpers";

async function query(body: Record<string, unknown>) {
  return api("POST", "/v1/query", body);
}

/** Document ids a query returns, in order. */
async function ids(body: Record<string, unknown>): Promise<string[]> {
  const r = await query(body);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.docs.map((d: { id: string }) => d.id);
}

// One document per interesting value of `v`, plus one without it.
const VALUES: Record<string, Value | undefined> = {
  missing: undefined,
  null: null,
  false: false,
  true: true,
  neg: -1,
  zero: 0,
  one: 1,
  onePointFive: 1.5,
  two: 2,
  ts2020: { $timestamp: "2020-01-01T00:00:00Z" },
  ts2021: { $timestamp: "2021-01-01T00:00:00Z" },
  empty: "",
  str1: "1",
  strA: "a",
  strB: "b",
  bytes: { $bytes: "AAE=" },
  ref: { $ref: "ops/one" },
  arr12: [1, 2],
  arr2: [2],
  arrAB: ["a", "b"],
  arrNull: [null],
  arrEmpty: [],
  mapA: { a: 1 },
  mapEmpty: {},
};

let opsToken: Promise<string> | null = null;
function seedOps(): Promise<string> {
  opsToken ??= seed(
    Object.fromEntries(Object.entries(VALUES).map(([id, v]): [string, DocumentData] => [`ops/${id}`, v === undefined ? { other: 1 } : { v, other: 1 }])),
  );
  return opsToken;
}

const on = async (where: unknown, extra: Record<string, unknown> = {}) =>
  ids({ from: { collection: "ops" }, where, after: await seedOps(), ...extra });

describe("POST /v1/query: operators (Firestore semantics)", () => {
  it("== < <= > >= match only the operand's type; numbers compare numerically", async () => {
    expect(await on(["v", "==", 1])).toEqual(["one"]);
    expect(await on(["v", "==", 1.0])).toEqual(["one"]);
    expect(await on(["v", "==", "1"])).toEqual(["str1"]);
    expect(await on(["v", ">", 1])).toEqual(["onePointFive", "two"]);
    expect(await on(["v", ">=", 1])).toEqual(["one", "onePointFive", "two"]);
    expect(await on(["v", "<", 0.5])).toEqual(["neg", "zero"]);
    expect(await on(["v", "<=", "a"])).toEqual(["empty", "str1", "strA"]);
    expect(await on(["v", ">", { $timestamp: "2020-06-01T00:00:00Z" }])).toEqual(["ts2021"]);
    expect(await on(["v", "<", true])).toEqual(["false"]);
  });

  it("== null matches null only; a missing field matches nothing", async () => {
    expect(await on(["v", "==", null])).toEqual(["null"]);
    expect(await on(["other", "==", 1], { limit: 100 })).toHaveLength(Object.keys(VALUES).length);
  });

  it("!= and not-in match every other type but never null or a missing field", async () => {
    const all = Object.keys(VALUES).filter((k) => k !== "missing" && k !== "null");
    const ordered = await on(["v", "!=", 1]);
    expect(ordered).toEqual(await on(["v", "!=", 1], { orderBy: [["v", "asc"]] }));
    expect(new Set(ordered)).toEqual(new Set(all.filter((k) => k !== "one")));
    // Implicitly ordered by v, in Firestore's cross-type order.
    expect(ordered.slice(0, 6)).toEqual(["false", "true", "neg", "zero", "onePointFive", "two"]);
    expect(new Set(await on(["v", "not-in", [1, "a", [1, 2]]]))).toEqual(new Set(all.filter((k) => !["one", "strA", "arr12"].includes(k))));
    expect(await on(["v", "not-in", [null, 1]])).toEqual([]);
    expect(await on(["v", "!=", null], { limit: 100 })).toHaveLength(all.length);
  });

  it("in matches listed values of any type, ordered by name; a listed null matches nothing", async () => {
    expect(await on(["v", "in", [1, "a", [1, 2], null, { a: 1 }]])).toEqual(["arr12", "mapA", "one", "strA"]);
    expect(await on(["v", "in", [null]])).toEqual([]);
    expect(await on(["v", "array-contains-any", [null]])).toEqual([]);
    expect(await on(["v", "not-in", ["a", null]])).toEqual([]);
  });

  it("array-contains and array-contains-any match arrays only, each document once", async () => {
    expect(await on(["v", "array-contains", 2])).toEqual(["arr12", "arr2"]);
    expect(await on(["v", "array-contains", null])).toEqual(["arrNull"]);
    expect(await on(["v", "array-contains", "a"])).toEqual(["arrAB"]);
    expect(await on(["v", "array-contains-any", [2, "a", 1]])).toEqual(["arr12", "arr2", "arrAB"]);
    expect(await on(["v", "==", [1, 2]])).toEqual(["arr12"]);
    expect(await on(["v", "==", []])).toEqual(["arrEmpty"]);
  });

  it("orderBy uses the cross-type order and leaves out documents without the field", async () => {
    const asc = await on(undefined, { orderBy: [["v", "asc"]] });
    expect(asc).toEqual([
      "null", "false", "true", "neg", "zero", "one", "onePointFive", "two", "ts2020", "ts2021",
      "empty", "str1", "strA", "strB", "bytes", "ref", "arrEmpty", "arrNull", "arr12", "arr2", "arrAB", "mapEmpty", "mapA",
    ]);
    expect(await on(undefined, { orderBy: [["v", "desc"]], limit: 3 })).toEqual(["mapA", "mapEmpty", "arrAB"]);
    expect(await on(undefined, { orderBy: [["v", "asc"]], limitToLast: 2 })).toEqual(["mapEmpty", "mapA"]);
  });

  it("cursors: startAt, startAfter, endAt, endBefore on values and names", async () => {
    const q = { orderBy: [["v", "asc"]], where: ["v", ">=", -100] };
    expect(await on(q.where, { ...q, startAfter: [0] })).toEqual(["one", "onePointFive", "two"]);
    expect(await on(q.where, { ...q, startAt: [1], endBefore: [2] })).toEqual(["one", "onePointFive"]);
    expect(await on(q.where, { ...q, endAt: [0] })).toEqual(["neg", "zero"]);
    expect(await on(undefined, { orderBy: [["__name__", "asc"]], startAfter: ["ts2021"], limit: 2 })).toEqual(["two", "zero"]);
  });

  it("__name__ filters by document id", async () => {
    expect(await on(["__name__", "==", "one"])).toEqual(["one"]);
    expect(await on(["__name__", "in", ["one", "two", "nope"]])).toEqual(["one", "two"]);
    expect(await on(["__name__", ">=", "ts"], { limit: 3 })).toEqual(["ts2020", "ts2021", "two"]);
  });

  it("or and and combine, each document once", async () => {
    expect(await on({ or: [["v", "==", 1], ["v", "array-contains", 1], ["v", "==", "a"]] })).toEqual(["arr12", "one", "strA"]);
    expect(await on({ and: [["other", "==", 1], { or: [["v", "==", 2], ["v", "==", "b"]] }] })).toEqual(["strB", "two"]);
  });

  it("select returns only the selected fields", async () => {
    const r = await query({ from: { collection: "ops" }, where: ["v", "==", 1], select: ["v"], after: await seedOps() });
    expect(r.body.docs).toEqual([expect.objectContaining({ path: "ops/one", id: "one", data: { v: 1 }, version: expect.any(Number) })]);
  });

  it("count, sum and avg are computed over numbers only", async () => {
    const r = await query({
      from: { collection: "ops" },
      where: ["other", "==", 1],
      aggregate: { n: { count: true }, s: { sum: "v" }, a: { avg: "v" }, none: { avg: "nothing" } },
      after: await seedOps(),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({ aggregates: { n: 24, s: 3.5, a: 0.7, none: null } });
    const limited = await query({ from: { collection: "ops" }, orderBy: [["v", "asc"]], limit: 5, aggregate: { n: { count: true }, s: { sum: "v" } } });
    expect(limited.body.aggregates).toEqual({ n: 5, s: -1 });
  });
});

describe("POST /v1/query: collection groups, explain, read-your-writes", () => {
  it("queries every collection with the same id", async () => {
    const after = await seed({
      "authors/a/posts/p1": { likes: 3 },
      "authors/b/posts/p2": { likes: 5 },
      "authors/b/posts/p3": { likes: 1 },
      "posts/p4": { likes: 4 },
      "authors/a/drafts/p5": { likes: 9 },
    });
    const r = await query({ from: { collectionGroup: "posts" }, where: ["likes", ">", 2], after });
    expect(r.body.docs.map((d: { path: string }) => d.path)).toEqual(["authors/a/posts/p1", "posts/p4", "authors/b/posts/p2"]);
    expect(await ids({ from: { collectionGroup: "posts" }, orderBy: [["__name__", "desc"]], limit: 2 })).toEqual(["p4", "p3"]);
  });

  it("sees its own write with `after`", async () => {
    for (let i = 0; i < 3; i++) {
      const w = await api("PUT", `/v1/docs/ryw/d${i}`, { n: i });
      const r = await query({ from: { collection: "ryw" }, where: ["n", "==", i], after: w.body.token });
      expect(r.body.docs.map((d: { id: string }) => d.id)).toEqual([`d${i}`]);
    }
  });

  it("is strongly consistent by default: a query right after a write sees it, without a token", async () => {
    for (let i = 0; i < 5; i++) {
      expect((await api("PUT", "/v1/docs/strong/alice", { age: 30, round: i })).status).toBe(200);
      expect((await api("PATCH", "/v1/docs/strong/alice", { age: 31 })).status).toBe(200);
      const r = await query({ from: { collection: "strong" }, where: ["round", "==", i] });
      expect(r.body.docs.map((d: { data: { age: number } }) => d.data.age)).toEqual([31]);
    }
  });

  it("takes consistency eventual, and refuses other values", async () => {
    const r = await query({ from: { collection: "strong" }, consistency: "eventual" });
    expect(r.status).toBe(200);
    const bad = await query({ from: { collection: "strong" }, consistency: "linearizable" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('consistency must be "strong" or "eventual"');
  });

  it("answers UNAVAILABLE when the index does not catch up in time", async () => {
    const err = await waitForIndex(env.DB, "3:999999999", 50).catch((e) => e);
    expect(err).toBeInstanceOf(BlazeError);
    expect(err.code).toBe("UNAVAILABLE");
    expect(err.message).toContain("shard 3");
    const topology = parseTopology(env);
    const nq = normalizeQuery(parseQuery({ from: { collection: "x" }, after: "3:999999999" }));
    await expect(runQuery({ dbs: [env.DB, env.DB2], topology, config: parseIndexConfig({}), meta: env.DB, waitMs: 30 }, nq)).rejects.toMatchObject({
      code: "UNAVAILABLE",
    });
  });

  it("explains the plan, the rows read and the statements", async () => {
    const after = await seedOps();
    const r = await query({ from: { collection: "ops" }, where: ["v", "array-contains", 2], limit: 5, explain: true, after });
    expect(r.body.docs.map((d: { id: string }) => d.id)).toEqual(["arr12", "arr2"]);
    const { plan, rowsRead, statements } = r.body.explain;
    expect(plan.disjunctions[0]).toMatchObject({ rule: "equality", scans: [{ index: "single-field", entries: "element", field: "v" }] });
    expect(statements[0]).toMatchObject({ shard: expect.any(String), sql: expect.stringContaining("index_entries"), params: expect.any(Number) });
    // A selective query reads about what it returns, not the collection.
    expect(rowsRead).toBeGreaterThan(0);
    expect(rowsRead).toBeLessThan(10);

    const both = await query({ from: { collection: "ops" }, where: { and: [["other", "==", 1], ["v", "array-contains", 2]] }, explain: true });
    expect(both.body.docs.map((d: { id: string }) => d.id)).toEqual(["arr12", "arr2"]);
    expect(both.body.explain.plan.disjunctions[0].residual).toEqual([expect.objectContaining({ points: [expect.any(String)] })]);
  });
});

describe("POST /v1/query: errors", () => {
  const bad = async (body: unknown) => {
    const r = await api("POST", "/v1/query", body);
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error.code).toBe("INVALID_ARGUMENT");
    return r.body.error.message as string;
  };

  it("names the problem of an invalid query", async () => {
    const from = { collection: "ops" };
    expect(await bad({ from, where: ["v", "=~", 1] })).toContain("unknown operator");
    expect(await bad({ from, where: ["v", "in", 1] })).toContain("'in' needs a non-empty array");
    expect(await bad({ from, where: ["v", "<", null] })).toContain("null supports only '==' and '!='");
    expect(await bad({ from, where: ["v", "in", Array.from({ length: 31 }, (_, i) => i)] })).toContain("at most 30 values");
    expect(
      await bad({ from, where: { and: [["a", "in", [1, 2, 3, 4, 5, 6]], ["b", "in", [1, 2, 3, 4, 5, 6]]] } }),
    ).toContain("disjunctions");
    expect(await bad({ from, orderBy: [["v", "asc"]], startAt: [1, "x", 3] })).toContain("startAt has 3 values");
    expect(await bad({ from, limitToLast: 3 })).toContain("limitToLast needs");
    expect(await bad({ from, where: { and: [["a", "not-in", [1]], ["b", "!=", 2]] } })).toContain("cannot be combined");
    expect(await bad({ from, where: { or: [["a", "!=", 1], ["b", "!=", 2]] } })).toContain("at most one '!='");
    expect(await bad({ from, orderBy: [["__name__", "asc"], ["v", "asc"]] })).toContain("__name__ must be the last");
    expect(await bad({ from, where: ["v", ">", 1], orderBy: [["__name__", "asc"]] })).toContain("__name__ must be the last");
    expect(await bad({ from, where: ["v", "array-contains", 1], orderBy: [["v", "asc"]], startAt: [{ $double: "Nope" }] })).toContain("$double");
    expect(await bad({ from: { collection: "ops/x" } })).toContain("document path");
    expect(await bad("not json {")).toMatch(/JSON/);
  });

  it("refuses a query that needs an undeclared composite index, with the definition to add", async () => {
    const r = await query({ from: { collection: "ops" }, where: ["other", "==", 1], orderBy: [["v", "desc"]] });
    expect(r.status).toBe(412);
    expect(r.body.error.code).toBe("FAILED_PRECONDITION");
    expect(r.body.error.message).toContain("blaze.indexes.json");
    expect(r.body.error.details).toEqual({
      index: {
        collectionGroup: "ops",
        queryScope: "COLLECTION",
        fields: [
          { fieldPath: "other", order: "ASCENDING" },
          { fieldPath: "v", order: "DESCENDING" },
        ],
      },
    });
  });
});

describe("POST /v1/query: a collection split over two index shards", () => {
  it("scatters, merges in order, applies the limit and combines aggregates", async () => {
    expect(parseTopology(env).split.has("events")).toBe(true);
    const docs: Record<string, DocumentData> = {};
    for (let i = 0; i < 40; i++) docs[`events/e${String(i).padStart(2, "0")}`] = { n: i % 10, kind: i % 2 === 0 ? "even" : "odd" };
    const after = await seed(docs);
    await waitForIndex(env.DB, after, 5000);
    // Both databases hold some of them.
    for (const db of [env.DB, env.DB2]) {
      const row = await db.prepare(`SELECT COUNT(*) AS n FROM documents WHERE collection_id = 'events'`).first<{ n: number }>();
      expect(row!.n).toBeGreaterThan(5);
    }
    const all = Object.entries(docs).map(([path, data]) => ({ id: path.split("/")[1], ...data })) as { id: string; n: number; kind: string }[];
    const byN = (a: { id: string; n: number }, b: { id: string; n: number }) => a.n - b.n || (a.id < b.id ? -1 : 1);

    expect(await ids({ from: { collection: "events" }, where: ["n", ">=", 7], orderBy: [["n", "desc"]], limit: 5, after })).toEqual(
      all.filter((d) => d.n >= 7).sort(byN).reverse().slice(0, 5).map((d) => d.id),
    );
    expect(await ids({ from: { collection: "events" }, where: ["kind", "==", "odd"], limit: 4 })).toEqual(["e01", "e03", "e05", "e07"]);
    expect(await ids({ from: { collection: "events" }, orderBy: [["n", "asc"]], startAfter: [8, "e18"], limitToLast: 3 })).toEqual(
      all.filter((d) => d.n > 8 || (d.n === 8 && d.id > "e18")).sort(byN).slice(-3).map((d) => d.id),
    );

    const agg = await query({ from: { collection: "events" }, where: ["n", "<", 5], aggregate: { c: { count: true }, s: { sum: "n" }, a: { avg: "n" } } });
    expect(agg.body.aggregates).toEqual({ c: 20, s: 40, a: 2 });
    const limited = await query({ from: { collection: "events" }, orderBy: [["n", "desc"]], limit: 6, aggregate: { c: { count: true }, s: { sum: "n" } } });
    expect(limited.body.aggregates).toEqual({ c: 6, s: 52 });
  });
});

describe("POST /v1/query: inputs at the limits", () => {
  it("serves many equality filters (no expression tree too deep for D1)", async () => {
    const data = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`f${i}`, 1]));
    const w = await api("PUT", "/v1/docs/wide/w1", data);
    await api("PUT", "/v1/docs/wide/w2", { ...data, f59: 2 });
    const where = { and: Array.from({ length: 60 }, (_, i) => [`f${i}`, "==", 1]) };
    const r = await query({ from: { collection: "wide" }, where, after: w.body.token });
    expect(r.status).toBe(200);
    expect(r.body.docs.map((d: { id: string }) => d.id)).toEqual(["w1"]);
    const n = await query({ from: { collection: "wide" }, where, aggregate: { n: { count: true } } });
    expect(n.body.aggregates).toEqual({ n: 1 });
  });

  it("refuses a token naming a shard that does not exist, and an oversized operand", async () => {
    const bad = await query({ from: { collection: "x" }, after: "999999:5" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("999999");
    const big = await query({ from: { collection: "x" }, where: ["s", "==", "z".repeat(20_000)] });
    expect(big.status).toBe(400);
    expect(big.body.error.code).toBe("INVALID_ARGUMENT");
  });
});

