import { describe, expect, it } from "vitest";
import { BlazeError } from "../core/errors";
import type { Value } from "../core/values";
import { parseIndexConfig } from "../index/config";
import type { IndexConfig } from "../index/config-types";
import { compile } from "../index/d1";
import { encodeDocumentName, encodeValue, invertBytes, TAG } from "../index/encoding";
import { parseQuery } from "../core/query/ast";
import { normalizeQuery, type NormalizedQuery } from "../core/query/normalize";
import { explainPlan, planQuery, type CompositeScan, type FieldScan, type QueryPlan } from "./planner";
import { aggregateStatement, documentStatements } from "./sql";

const EMPTY = parseIndexConfig({});
const nq = (body: Record<string, unknown>, from: unknown = { collection: "users" }): NormalizedQuery =>
  normalizeQuery(parseQuery({ from, ...body }));
const plan = (body: Record<string, unknown>, config: IndexConfig = EMPTY, from?: unknown): QueryPlan =>
  planQuery(nq(body, from), { config });

function refusal(body: Record<string, unknown>, config: IndexConfig = EMPTY, from?: unknown): BlazeError {
  try {
    plan(body, config, from);
  } catch (e) {
    if (e instanceof BlazeError) return e;
    throw e;
  }
  throw new Error("expected the planner to refuse the query");
}

const config = (...indexes: unknown[]) => parseIndexConfig({ indexes });
const asc = (fieldPath: string) => ({ fieldPath, order: "ASCENDING" });
const desc = (fieldPath: string) => ({ fieldPath, order: "DESCENDING" });
const contains = (fieldPath: string) => ({ fieldPath, arrayConfig: "CONTAINS" });
const enc = (v: Value) => encodeValue(v);

describe("planQuery: which index", () => {
  it("reads the documents table for no filter and name order", () => {
    const p = plan({ limit: 5 });
    expect(p.disjunctions).toHaveLength(1);
    expect(p.disjunctions[0]).toMatchObject({ rule: "documents", scans: [{ index: "documents" }], residual: [] });
  });

  it("drives equality filters from one single-field index and looks the others up", () => {
    const d = plan({ where: { and: [["city", "in", ["Oslo", "Rome"]], ["age", "==", 30], ["tags", "array-contains", "x"]] } }).disjunctions[0];
    expect(d.rule).toBe("equality");
    // The one-point equality drives; the others are EXISTS lookups.
    expect(d.scans).toEqual([{ index: "field", order: "name", predicate: expect.objectContaining({ field: "age", kind: "value", points: [enc(30)] }) }]);
    expect(d.residual.map((r) => [r.field, r.kind, r.points?.length])).toEqual([
      ["city", "value", 2],
      ["tags", "element", 1],
    ]);
  });

  it("reads an in-list driver as one scan per value", () => {
    const d = plan({ where: ["city", "in", ["Rome", "Oslo", "Bern"]] }).disjunctions[0];
    expect(d.rule).toBe("equality");
    expect(d.scans.map((s) => (s as FieldScan).predicate.points)).toEqual([[enc("Bern")], [enc("Oslo")], [enc("Rome")]]);
  });

  it("serves a range and orderBy on one field from its single-field index", () => {
    const d = plan({ where: ["age", ">", 18], orderBy: [["age", "desc"]] }).disjunctions[0];
    expect(d.rule).toBe("single-field");
    expect(d.valueDirection).toBe("desc");
    expect(d.nameDirection).toBe("desc");
    const pred = (d.scans[0] as FieldScan).predicate;
    // Same type only: (enc(18), first byte of the next type).
    expect(pred).toMatchObject({ field: "age", lower: { bytes: enc(18), inclusive: false }, upper: { bytes: Uint8Array.of(TAG.TIMESTAMP), inclusive: false } });
  });

  it("types ranges: < 'm' covers strings only; != and not-in cover every type above null", () => {
    const lt = (plan({ where: ["name", "<", "m"] }).disjunctions[0].scans[0] as FieldScan).predicate;
    expect(lt.lower).toEqual({ bytes: Uint8Array.of(TAG.STRING), inclusive: true });
    expect(lt.upper).toEqual({ bytes: enc("m"), inclusive: false });
    const ne = (plan({ where: ["name", "not-in", ["a", 1]] }).disjunctions[0].scans[0] as FieldScan).predicate;
    expect(ne.lower).toEqual({ bytes: enc(null), inclusive: false });
    expect(ne.exclude).toEqual([enc(1), enc("a")]);
  });

  it("plans nothing for a conjunction that cannot match", () => {
    expect(plan({ where: ["a", "not-in", [null, 1]] }).disjunctions).toEqual([]);
    expect(plan({ where: { and: [["a", ">", 5], ["a", "<", 2]] } }).disjunctions).toEqual([]);
    expect(plan({ where: { and: [["a", ">", 5], ["a", "<", "x"]] } }).disjunctions).toEqual([]);
    expect(plan({ where: { and: [["a", "in", [1, 2]], ["a", "!=", 1], ["a", "<", 2]] } }).disjunctions).toEqual([]);
  });

  it("plans one sub-plan per disjunction", () => {
    // The implicit orderBy (a) is the whole query's: constant in the first disjunction.
    const p = plan({ where: { or: [["a", "==", 1], ["a", ">", 2]] } });
    expect(p.disjunctions.map((d) => d.rule)).toEqual(["equality", "single-field"]);
  });

  it("drops an orderBy field that an equality makes constant", () => {
    expect(plan({ where: ["city", "==", "Oslo"], orderBy: [["city", "desc"]] }).disjunctions[0].rule).toBe("equality");
  });
});

describe("planQuery: composite indexes", () => {
  it("refuses with FAILED_PRECONDITION and the exact definition to add", () => {
    const e = refusal({ where: { and: [["city", "==", "Oslo"], ["age", ">", 18]] }, orderBy: [["age", "desc"]] });
    expect(e.code).toBe("FAILED_PRECONDITION");
    expect(e.message).toContain("needs a composite index");
    expect(e.details).toEqual({
      index: { collectionGroup: "users", queryScope: "COLLECTION", fields: [asc("city"), desc("age")] },
    });
    expect(e.message).toContain(JSON.stringify((e.details as { index: unknown }).index));
  });

  it("asks for arrayConfig CONTAINS, equality fields sorted, and the group scope", () => {
    const e = refusal(
      { where: { and: [["tags", "array-contains", "x"], ["b", "==", 1]] }, orderBy: [["a", "asc"], ["c", "desc"]] },
      EMPTY,
      { collectionGroup: "posts" },
    );
    expect(e.details).toEqual({
      index: { collectionGroup: "posts", queryScope: "COLLECTION_GROUP", fields: [asc("b"), contains("tags"), asc("a"), desc("c")] },
    });
  });

  it("needs an index for orderBy on two fields, or ranges on two fields", () => {
    expect((refusal({ orderBy: [["a"], ["b"]] }).details as any).index.fields).toEqual([asc("a"), asc("b")]);
    expect((refusal({ where: { and: [["a", ">", 1], ["b", "<", 2]] } }).details as any).index.fields).toEqual([asc("a"), asc("b")]);
  });

  it("uses a declared index: equality prefix plus range, in key order", () => {
    const cfg = config({ collectionGroup: "users", fields: [asc("city"), desc("age")] });
    const d = plan({ where: { and: [["city", "==", "Oslo"], ["age", ">", 18]] }, orderBy: [["age", "desc"]] }, cfg).disjunctions[0];
    expect(d.rule).toBe("composite");
    expect(d.composite).toMatchObject({ index: { id: cfg.indexes[0].id }, reversed: false, scope: "users" });
    const scan = d.scans[0] as CompositeScan;
    // age > 18, descending: keys from the top of the number range down to 18 (exclusive).
    const prefix = enc("Oslo");
    const top = new Uint8Array([...prefix, 0xff - TAG.TIMESTAMP + 1]); // inverted bytes of numbers end below this
    expect(scan.range.lo).toEqual(top);
    expect(scan.range.hi).toEqual(new Uint8Array([...prefix, ...invertBytes(enc(18))]));
  });

  it("reads an index backwards when every direction is reversed", () => {
    const cfg = config({ collectionGroup: "users", fields: [asc("city"), desc("age")] });
    const d = plan({ where: ["city", "==", "Oslo"], orderBy: [["age", "asc"]] }, cfg).disjunctions[0];
    expect(d.composite?.reversed).toBe(true);
    const sql = compile(documentStatements(plan({ where: ["city", "==", "Oslo"], orderBy: [["age", "asc"]], limit: 3 }, cfg))[0].query).sql;
    expect(sql).toContain("ORDER BY c.key DESC LIMIT");
  });

  it("does not use an index with other directions, scope or fields", () => {
    const body = { where: ["city", "==", "Oslo"], orderBy: [["age", "asc"], ["name", "asc"]] };
    for (const idx of [
      { collectionGroup: "users", fields: [asc("city"), asc("age"), desc("name")] },
      { collectionGroup: "users", queryScope: "COLLECTION_GROUP", fields: [asc("city"), asc("age"), asc("name")] },
      { collectionGroup: "users", fields: [asc("city"), asc("name"), asc("age")] },
      { collectionGroup: "people", fields: [asc("city"), asc("age"), asc("name")] },
    ]) {
      expect(refusal(body, config(idx)).code).toBe("FAILED_PRECONDITION");
    }
    expect(plan(body, config({ collectionGroup: "users", fields: [desc("city"), asc("age"), asc("name")] })).disjunctions[0].rule).toBe("composite");
  });

  it("scans one key range per in value, and checks extra inequality fields by lookup", () => {
    const cfg = config({ collectionGroup: "users", fields: [asc("city"), asc("age"), asc("score")] });
    const d = plan({ where: { and: [["city", "in", ["Oslo", "Rome"]], ["age", ">", 1], ["score", "<", 5]] } }, cfg).disjunctions[0];
    expect(d.scans).toHaveLength(2);
    expect(d.residual.map((r) => r.field)).toEqual(["score"]);
  });

  it("refuses a __name__ direction unlike the last field's, which no index can hold", () => {
    const e = refusal({ orderBy: [["a", "asc"], ["b", "asc"], ["__name__", "desc"]] });
    expect(e.details).toEqual({ reason: "name-direction" });
  });
});

describe("planQuery: exemptions", () => {
  const exempt = parseIndexConfig({ fieldOverrides: [{ collectionGroup: "users", fieldPath: "bio", indexes: [] }] });

  it("refuses a query that needs an exempt field's single-field index, naming the exemption", () => {
    const e = refusal({ where: ["bio", "==", "x"] }, exempt);
    expect(e.code).toBe("FAILED_PRECONDITION");
    expect(e.message).toContain("exempt");
    expect(e.details).toEqual({ exemption: { collectionGroup: "users", fieldPath: "bio" } });
    expect(refusal({ where: ["bio.long", ">", "x"] }, exempt).details).toEqual({ exemption: { collectionGroup: "users", fieldPath: "bio.long" } });
  });

  it("plans other fields and other collections as usual", () => {
    expect(plan({ where: ["name", "==", "x"] }, exempt).disjunctions[0].rule).toBe("equality");
    expect(plan({ where: ["bio", "==", "x"] }, exempt, { collection: "posts" }).disjunctions[0].rule).toBe("equality");
  });
});

describe("planQuery: cursors and limits", () => {
  it("turns a cursor on (value, name) into a tuple bound", () => {
    const d = plan({ where: ["age", ">", 1], orderBy: [["age", "asc"]], startAfter: [30, "bob"], endAt: [40] }).disjunctions[0];
    expect(d.start).toEqual({ value: enc(30), name: "users/bob", inclusive: false });
    expect(d.end).toEqual({ value: enc(40), name: null, inclusive: true });
  });

  it("folds a name cursor into name bounds, by direction", () => {
    const d = plan({ orderBy: [["__name__", "desc"]], startAt: ["m"] }).disjunctions[0];
    expect(d.name).toEqual({ points: null, lower: null, upper: { path: "users/m", inclusive: true }, exclude: [] });
  });

  it("decides cursor positions on constant fields at plan time", () => {
    const q = (startAt: Value[]) => plan({ where: ["city", "==", "Oslo"], orderBy: [["city", "asc"]], startAt }).disjunctions;
    expect(q(["Bern"])[0].name).toBeNull(); // every document is after the cursor
    expect(q(["Zurich"])).toEqual([]); // none is
    expect(q(["Oslo", "b"])[0].name).toMatchObject({ lower: { path: "users/b", inclusive: true } });
  });

  it("puts cursors into composite key bounds", () => {
    const cfg = config({ collectionGroup: "users", fields: [asc("city"), asc("age")] });
    const d = plan({ where: ["city", "==", "Oslo"], orderBy: [["age", "asc"]], startAfter: [30, "bob"] }, cfg).disjunctions[0];
    const key = new Uint8Array([...enc("Oslo"), ...enc(30), ...encodeDocumentName("users/bob")]);
    const after = key.slice();
    after[after.length - 1]++;
    expect((d.scans[0] as CompositeScan).range.lo).toEqual(after);
  });

  it("pushes limit into SQL, reading backwards for limitToLast", () => {
    const first = compile(documentStatements(plan({ where: ["age", ">", 1], limit: 7 }))[0].query);
    expect(first.sql).toMatch(/ORDER BY e\.value ASC, e\.doc_key ASC LIMIT \?$/);
    expect(first.params[first.params.length - 1]).toBe(7);
    const last = compile(documentStatements(plan({ where: ["age", ">", 1], orderBy: [["age"]], limitToLast: 2 }))[0].query);
    expect(last.sql).toMatch(/ORDER BY e\.value DESC, e\.doc_key DESC LIMIT \?$/);
  });
});

describe("SQL: the byte budget of a page", () => {
  it("keeps a running sum of sizes for windows that could pass it, not for small ones", () => {
    // 16 documents of at most 1 MiB fit the 16 MiB budget; 17 might not.
    const small = compile(documentStatements(plan({ where: ["age", ">", 1], limit: 16 }))[0].query).sql;
    expect(small).not.toContain("octet_length");
    const large = compile(documentStatements(plan({ where: ["age", ">", 1], limit: 17 }))[0].query).sql;
    expect(large).toMatch(/octet_length\(d\.data\) AS size, e\.value AS k0, e\.doc_key AS k1 .* ORDER BY e\.value ASC, e\.doc_key ASC LIMIT \?\)/);
    expect(large).toContain("sum(w.size) OVER (ORDER BY w.k0 ASC, w.k1 ASC ROWS UNBOUNDED PRECEDING)");
    expect(large).toMatch(/WHERE r\.running - r\.size <= \? ORDER BY r\.running$/);
    expect(compile(documentStatements(plan({ where: ["age", ">", 1], limit: 17 }), null)[0].query).sql).not.toContain("octet_length");
  });
});

describe("SQL: D1's 100 bound parameters", () => {
  it("keeps every statement within the limit, writing the rest as hex literals", () => {
    const and = Array.from({ length: 60 }, (_, i) => [`f${i}`, "in", [i, `s${i}`]]).slice(0, 1);
    const many = Array.from({ length: 80 }, (_, i) => [`g${i}`, "==", `v${i}`]);
    const p = plan({ where: { and: [...and, ...many] }, aggregate: { n: { count: true }, s: { sum: "x" } } });
    const statements = [...documentStatements({ ...p, aggregate: null }).map((s) => s.query), aggregateStatement(p)!];
    for (const s of statements) {
      const { sql, params } = compile(s);
      expect(params.length).toBeLessThanOrEqual(100);
      expect(sql).toMatch(/X'[0-9a-f]+'/);
    }
  });

  it("writes a large disjunction as nested unions of at most 5 terms for aggregates", () => {
    const or = Array.from({ length: 12 }, (_, i) => ["a", "==", i]);
    const { sql } = compile(aggregateStatement(plan({ where: { or }, aggregate: { n: { count: true } } }))!);
    for (const part of sql.split("SELECT path FROM (")) expect(part.split(" UNION ").length).toBeLessThanOrEqual(6);
  });
});

describe("explainPlan", () => {
  it("describes index, ranges as hex, residual, order and limit as plain JSON", () => {
    const cfg = config({ collectionGroup: "users", fields: [asc("city"), desc("age")] });
    const p = plan({ where: { or: [{ and: [["city", "==", "Oslo"], ["age", ">", 18]] }, ["age", "<", 5]] }, orderBy: [["age", "desc"]], limit: 3 }, cfg);
    const e = explainPlan(p);
    expect(JSON.parse(JSON.stringify(e))).toEqual(e);
    expect(e).toMatchObject({
      scope: { collection: "users" },
      orderBy: [["age", "desc"], ["__name__", "desc"]],
      limit: { count: 3, last: false },
    });
    const composite = (e.disjunctions as any[]).find((d) => d.rule === "composite");
    const other = (e.disjunctions as any[]).find((d) => d.rule !== "composite");
    expect(composite).toMatchObject({ rule: "composite", index: { id: cfg.indexes[0].id, fields: [["city", "ASCENDING"], ["age", "DESCENDING"]] } });
    expect(composite.scans[0].from).toMatch(/^[0-9a-f]+$/);
    expect(other).toMatchObject({ rule: "single-field", scans: [{ index: "single-field", field: "age", order: "value, __name__" }] });
    const eq = explainPlan(plan({ where: { and: [["a", "==", 1], ["tags", "array-contains", "x"]] } })) as any;
    expect(eq.disjunctions[0].residual).toEqual([{ field: "tags", entries: "element", points: ["50780001"] }]);
  });
});
