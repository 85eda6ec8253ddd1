/**
 * Firestore's values over HTTP, end to end: NaN, ±Infinity and -0 (tagged
 * `$double`), geopoints, microsecond timestamps and field names that need
 * backtick quoting are written, read back unchanged, indexed and queried,
 * with the same answers as the reference evaluator's rules.
 */
import { describe, expect, it } from "vitest";
import type { DocumentData } from "../engine/core/values";
import { api, d1Doc } from "./helpers";

const NAN = { $double: "NaN" };
const INF = { $double: "Infinity" };
const NINF = { $double: "-Infinity" };
const geo = (latitude: number, longitude: number) => ({ $geo: { latitude, longitude } });

async function put(path: string, data: DocumentData | Record<string, unknown>) {
  const r = await api("PUT", `/v1/docs/${path}`, data);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.token as string;
}

async function ids(body: Record<string, unknown>): Promise<string[]> {
  const r = await api("POST", "/v1/query", body);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.docs.map((d: { id: string }) => d.id);
}

describe("values JSON cannot carry, over HTTP", () => {
  it("round-trips NaN, ±Infinity, -0, geopoints and quoted field names through the shard and D1", async () => {
    const data = { n: NAN, i: [INF, NINF], z: { $double: "-0" }, p: geo(59.9, 10.7), "a.b": 1, "with space": { "x`y": 2 } };
    await put("vals/one", data);
    const got = await api("GET", "/v1/docs/vals/one");
    expect(got.body.data).toEqual(data);
    const row = await eventuallyRow("vals/one");
    expect(JSON.parse(row.data)).toEqual(data);
  });

  it("stores timestamps with microsecond precision (nanoseconds truncated)", async () => {
    await put("vals/ts", { t: { $timestamp: "2024-05-06T07:08:09.123456789+02:00" } });
    const got = await api("GET", "/v1/docs/vals/ts");
    expect(got.body.data.t).toEqual({ $timestamp: "2024-05-06T05:08:09.123456000Z" });
  });

  it("refuses malformed tagged values without writing", async () => {
    for (const bad of [{ x: { $double: "nan" } }, { x: geo(100, 0) }, { x: { $geo: { latitude: 1 } } }]) {
      const r = await api("PUT", "/v1/docs/vals/bad", bad);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe("INVALID_ARGUMENT");
    }
    expect((await api("GET", "/v1/docs/vals/bad")).status).toBe(404);
  });
});

describe("queries over NaN, ±Infinity and geopoints", () => {
  const docs: Record<string, unknown> = {
    nan: NAN,
    ninf: NINF,
    neg: -1,
    negZero: { $double: "-0" },
    zero: 0,
    one: 1,
    inf: INF,
    geoA: geo(10, 20),
    geoB: geo(10, 30),
  };
  let token = "";
  const q = (body: Record<string, unknown>) => ({ from: { collection: "nums" }, after: token, ...body });

  it("match Firestore's rules in filters, order, cursors and aggregates", async () => {
    const tokens = [];
    for (const [id, v] of Object.entries(docs)) tokens.push(await put(`nums/${id}`, { v, w: 1 }));
    const batch = await api("POST", "/v1/batch", { writes: [{ op: "update", path: "nums/one", data: { w: 2 } }] });
    token = batch.body.results[0].token;
    // Let every earlier write reach the index too (tokens name different shards).
    for (const t of tokens) await api("POST", "/v1/query", { from: { collection: "nums" }, limit: 1, after: t });

    expect(await ids(q({ where: ["v", "==", NAN] }))).toEqual(["nan"]);
    expect(await ids(q({ where: ["v", "in", [NAN, 1, null]] }))).toEqual(["nan", "one"]);
    expect(await ids(q({ where: ["v", "<", 0] }))).toEqual(["ninf", "neg"]); // ordered by v (the inequality field)
    expect(await ids(q({ where: ["v", ">=", NINF], orderBy: [["v", "asc"]] }))).toEqual(["ninf", "neg", "negZero", "zero", "one", "inf"]);
    expect(await ids(q({ where: ["v", "==", 0] }))).toEqual(["negZero", "zero"]);
    expect(await ids(q({ where: ["v", ">", geo(10, 20)] }))).toEqual(["geoB"]);
    expect(await ids(q({ orderBy: [["v", "asc"]] }))).toEqual(["nan", "ninf", "neg", "negZero", "zero", "one", "inf", "geoA", "geoB"]);
    expect(await ids(q({ orderBy: [["v", "asc"]], startAfter: [NAN], limit: 2 }))).toEqual(["ninf", "neg"]);

    const agg = await api("POST", "/v1/query", q({ where: ["v", "in", [1, NAN]], aggregate: { s: { sum: "v" }, a: { avg: "v" }, n: { count: true } } }));
    expect(agg.body.aggregates).toEqual({ s: NAN, a: NAN, n: 2 });
    const inf = await api("POST", "/v1/query", q({ where: ["v", "in", [1, INF]], aggregate: { s: { sum: "v" } } }));
    expect(inf.body.aggregates).toEqual({ s: INF });
    const both = await api("POST", "/v1/query", q({ where: ["v", "in", [INF, NINF]], aggregate: { s: { sum: "v" } } }));
    expect(both.body.aggregates).toEqual({ s: NAN });

    const bad = await api("POST", "/v1/query", q({ where: ["v", ">", NAN] }));
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/NaN supports only '==' and '!='/);
  });
});

describe("quoted field names", () => {
  it("filter, order, select and update a field whose name holds a dot", async () => {
    await put("dots/d1", { "a.b": 1, a: { b: 9 } });
    const patched = await api("PATCH", "/v1/docs/dots/d1", { "`a.b`": 2, "`x y`.z": 3 });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const token = patched.body.token;
    const got = await api("GET", "/v1/docs/dots/d1");
    expect(got.body.data).toEqual({ "a.b": 2, a: { b: 9 }, "x y": { z: 3 } });

    const base = { from: { collection: "dots" }, after: token };
    expect(await ids({ ...base, where: ["`a.b`", "==", 2] })).toEqual(["d1"]);
    expect(await ids({ ...base, where: ["a.b", "==", 9] })).toEqual(["d1"]);
    expect(await ids({ ...base, where: ["a.b", "==", 2] })).toEqual([]);
    const sel = await api("POST", "/v1/query", { ...base, select: ["`a.b`"], orderBy: [["`a.b`", "asc"]] });
    expect(sel.body.docs[0].data).toEqual({ "a.b": 2 });
  });
});

async function eventuallyRow(path: string): Promise<{ data: string }> {
  for (let i = 0; i < 250; i++) {
    const row = await d1Doc(path);
    if (row) return row as { data: string };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${path} never reached D1`);
}
