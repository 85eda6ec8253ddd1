import { describe, expect, it } from "vitest";
import type { DocumentData, Value } from "../values";
import { parseQuery } from "./ast";
import {
  compareByOrder,
  inScope,
  matchesDnf,
  matchesFilter,
  matchesQuery,
  runQueryInMemory,
  type QueryDocument,
} from "./evaluate";
import { normalizeQuery, type NormalizedQuery } from "./normalize";

const nq = (body: Record<string, unknown>, from: unknown = { collection: "c" }): NormalizedQuery =>
  normalizeQuery(parseQuery({ from, ...body }));

/** One document per interesting value of field `v`, plus one without it. */
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
  ts2020: { $timestamp: "2020-01-01T00:00:00.000000000Z" },
  ts2021: { $timestamp: "2021-01-01T00:00:00.000000000Z" },
  empty: "",
  strA: "a",
  strB: "b",
  str1: "1",
  bytes: { $bytes: "AAE=" },
  ref: { $ref: "c/x" },
  arr12: [1, 2],
  arr2: [2],
  arrAB: ["a", "b"],
  arrNull: [null],
  arrEmpty: [],
  arrNested: [[1, 2]],
  mapA: { a: 1 },
  mapEmpty: {},
};
const DOCS: QueryDocument[] = Object.entries(VALUES).map(([id, v]) => ({
  path: `c/${id}`,
  data: v === undefined ? { other: 1 } : ({ v, other: 1 } as DocumentData),
}));

/** Ids of the documents the filter on field `v` matches, in VALUES order. */
function ids(op: string, value: unknown): string[] {
  const q = nq({ where: ["v", op, value] });
  return DOCS.filter((d) => matchesDnf(d, q.dnf)).map((d) => d.path.slice(2));
}

describe("matchesFilter: operators", () => {
  it("== matches equal values of the operand's type only", () => {
    expect(ids("==", 1)).toEqual(["one"]);
    expect(ids("==", 1.0)).toEqual(["one"]);
    expect(ids("==", "1")).toEqual(["str1"]);
    expect(ids("==", null)).toEqual(["null"]);
    expect(ids("==", false)).toEqual(["false"]);
    expect(ids("==", [1, 2])).toEqual(["arr12"]);
    expect(ids("==", [])).toEqual(["arrEmpty"]);
    expect(ids("==", { a: 1 })).toEqual(["mapA"]);
    expect(ids("==", { $timestamp: "2020-01-01T01:00:00+01:00" })).toEqual(["ts2020"]);
    expect(ids("==", { $ref: "c/x" })).toEqual(["ref"]);
    expect(ids("==", { $bytes: "AAE" })).toEqual(["bytes"]);
  });

  it("range operators stay within the operand's type", () => {
    expect(ids("<", 1)).toEqual(["neg", "zero"]);
    expect(ids("<=", 1)).toEqual(["neg", "zero", "one"]);
    expect(ids(">", 1)).toEqual(["onePointFive", "two"]);
    expect(ids(">=", 1.5)).toEqual(["onePointFive", "two"]);
    expect(ids(">", "")).toEqual(["strA", "strB", "str1"]);
    expect(ids("<", "b")).toEqual(["empty", "strA", "str1"]);
    expect(ids(">", false)).toEqual(["true"]);
    expect(ids(">=", { $timestamp: "2020-06-01T00:00:00Z" })).toEqual(["ts2021"]);
    // Arrays compare element by element: [null] < [1, 2] < [2] < ["a"] < [[1, 2]].
    expect(ids("<", [2])).toEqual(["arr12", "arrNull", "arrEmpty"]);
    expect(ids(">", [2])).toEqual(["arrAB", "arrNested"]);
    expect(ids(">", {})).toEqual(["mapA"]);
  });

  it("!= matches every other value of any type, never null or missing", () => {
    const all = Object.keys(VALUES).filter((k) => k !== "missing" && k !== "null");
    expect(ids("!=", 1)).toEqual(all.filter((k) => k !== "one"));
    expect(ids("!=", null)).toEqual(all);
    expect(ids("!=", "a")).toEqual(all.filter((k) => k !== "strA"));
  });

  it("in matches a value equal to one listed; a listed null matches nothing (Firestore)", () => {
    expect(ids("in", [1, "a", null])).toEqual(["one", "strA"]);
    expect(ids("in", [null])).toEqual([]);
    expect(ids("in", [[1, 2], 2])).toEqual(["two", "arr12"]);
    expect(ids("in", [[2]])).toEqual(["arr2"]);
  });

  it("not-in matches any other value, never null or missing; a listed null matches nothing", () => {
    const all = Object.keys(VALUES).filter((k) => k !== "missing" && k !== "null");
    expect(ids("not-in", [1, "a"])).toEqual(all.filter((k) => k !== "one" && k !== "strA"));
    expect(ids("not-in", [null])).toEqual([]);
    expect(ids("not-in", [1, null])).toEqual([]);
  });

  it("array-contains matches arrays holding an equal element", () => {
    expect(ids("array-contains", 2)).toEqual(["arr12", "arr2"]);
    expect(ids("array-contains", null)).toEqual(["arrNull"]);
    expect(ids("array-contains", "a")).toEqual(["arrAB"]);
    expect(ids("array-contains", [1, 2])).toEqual(["arrNested"]);
    expect(ids("array-contains", 7)).toEqual([]);
  });

  it("array-contains-any matches arrays holding an element equal to one listed", () => {
    expect(ids("array-contains-any", [1, "b"])).toEqual(["arr12", "arrAB"]);
    expect(ids("array-contains-any", [2, null])).toEqual(["arr12", "arr2"]);
    expect(ids("array-contains-any", [null])).toEqual([]);
  });

  it("never matches a missing field, nor a field under a non-map", () => {
    for (const [op, value] of [
      ["==", null],
      ["!=", 1],
      ["not-in", [1]],
      ["<", 100],
    ] as const) {
      expect(ids(op, value)).not.toContain("missing");
    }
    const doc = { path: "c/x", data: { a: 1, m: { b: 2 } } };
    expect(matchesDnf(doc, nq({ where: ["a.b", "!=", 1] }).dnf)).toBe(false);
    expect(matchesDnf(doc, nq({ where: ["m.b", "==", 2] }).dnf)).toBe(true);
  });

  it("__name__ compares the document path as a reference", () => {
    const docs = ["c/a", "c/b", "c/c", "c/a-1"].map((path) => ({ path, data: {} }));
    const match = (body: Record<string, unknown>) =>
      docs.filter((d) => matchesDnf(d, nq(body).dnf)).map((d) => d.path);
    expect(match({ where: ["__name__", "==", "b"] })).toEqual(["c/b"]);
    expect(match({ where: ["__name__", ">", "b"] })).toEqual(["c/c"]);
    expect(match({ where: ["__name__", "<", "c/b"] })).toEqual(["c/a", "c/a-1"]);
    expect(match({ where: ["__name__", "in", ["a", "c"]] })).toEqual(["c/a", "c/c"]);
    expect(match({ where: ["__name__", "not-in", ["a", "c"]] })).toEqual(["c/b", "c/a-1"]);
  });

  it("evaluates conjunctions and disjunctions", () => {
    const doc = { path: "c/x", data: { a: 1, b: 2 } };
    const m = (where: unknown) => matchesDnf(doc, nq({ where }).dnf);
    expect(m({ and: [["a", "==", 1], ["b", "==", 2]] })).toBe(true);
    expect(m({ and: [["a", "==", 1], ["b", "==", 3]] })).toBe(false);
    expect(m({ or: [["a", "==", 0], ["b", "==", 2]] })).toBe(true);
    expect(m({ and: [["a", ">", 0], { or: [["b", "==", 0], ["b", "==", 1]] }] })).toBe(false);
    expect(matchesFilter(doc, [])).toBe(true); // the empty conjunction
    expect(matchesDnf(doc, nq({}).dnf)).toBe(true);
  });
});

describe("scope", () => {
  it("matches the parent collection exactly, or the collection id for a group", () => {
    expect(inScope("c/x", { kind: "collection", path: "c", collectionId: "c" })).toBe(true);
    expect(inScope("c/x/c/y", { kind: "collection", path: "c", collectionId: "c" })).toBe(false);
    expect(inScope("d/x", { kind: "collection", path: "c", collectionId: "c" })).toBe(false);
    expect(inScope("c/x/c/y", { kind: "collection", path: "c/x/c", collectionId: "c" })).toBe(true);
    expect(inScope("c/x", { kind: "collectionGroup", collectionId: "c" })).toBe(true);
    expect(inScope("u/1/c/y", { kind: "collectionGroup", collectionId: "c" })).toBe(true);
    expect(inScope("c/x/d/y", { kind: "collectionGroup", collectionId: "c" })).toBe(false);
  });
});

// ------------------------------------------------------------ runQueryInMemory

const doc = (path: string, data: DocumentData) => ({ path, data, version: 1 });
const paths = (r: { docs: QueryDocument[] }) => r.docs.map((d) => d.path);

describe("runQueryInMemory: order", () => {
  it("orders across types by Firestore's order and leaves out documents missing the field", () => {
    const docs = Object.entries(VALUES).map(([id, v]) => doc(`c/${id}`, v === undefined ? {} : { v }));
    const r = runQueryInMemory(docs, nq({ orderBy: [["v", "asc"]] }));
    expect(paths(r).map((p) => p.slice(2))).toEqual([
      "null",
      "false",
      "true",
      "neg",
      "zero",
      "one",
      "onePointFive",
      "two",
      "ts2020",
      "ts2021",
      "empty",
      "str1",
      "strA",
      "strB",
      "bytes",
      "ref",
      "arrEmpty",
      "arrNull",
      "arr12",
      "arr2",
      "arrAB",
      "arrNested",
      "mapEmpty",
      "mapA",
    ]);
  });

  it("breaks ties by __name__ in the last direction, and orders descending", () => {
    const docs = [doc("c/b", { v: 1 }), doc("c/a", { v: 1 }), doc("c/c", { v: 0 })];
    expect(paths(runQueryInMemory(docs, nq({ orderBy: [["v", "asc"]] })))).toEqual(["c/c", "c/a", "c/b"]);
    expect(paths(runQueryInMemory(docs, nq({ orderBy: [["v", "desc"]] })))).toEqual(["c/b", "c/a", "c/c"]);
    expect(paths(runQueryInMemory(docs, nq({})))).toEqual(["c/a", "c/b", "c/c"]);
  });

  it("orders by the implicit inequality field", () => {
    const docs = [doc("c/a", { v: 3 }), doc("c/b", { v: 2 }), doc("c/c", { v: 5 }), doc("c/d", {})];
    expect(paths(runQueryInMemory(docs, nq({ where: ["v", "!=", 5] })))).toEqual(["c/b", "c/a"]);
  });

  it("compares document names segment by segment", () => {
    const docs = [doc("c/a-1", {}), doc("c/a", {}), doc("c/a/c/z", {})];
    const r = runQueryInMemory(docs, nq({}, { collectionGroup: "c" }));
    // "c/a" < "c/a/c/z" (prefix) < "c/a-1"; a plain string sort would put "c/a-1" second.
    expect(paths(r)).toEqual(["c/a", "c/a/c/z", "c/a-1"]);
  });

  it("compareByOrder sorts a missing field first", () => {
    const cmp = compareByOrder(nq({ orderBy: [["v", "asc"]] }).orderBy);
    expect(cmp(doc("c/a", {}), doc("c/b", { v: null }))).toBeLessThan(0);
    expect(cmp(doc("c/a", { v: 1 }), doc("c/a", { v: 1 }))).toBe(0);
  });
});

describe("runQueryInMemory: cursors and limits", () => {
  // (v, id): (1,a) (1,b) (2,c) (2,d) (3,e)
  const docs = [
    doc("c/e", { v: 3 }),
    doc("c/d", { v: 2 }),
    doc("c/c", { v: 2 }),
    doc("c/b", { v: 1 }),
    doc("c/a", { v: 1 }),
  ];
  const run = (body: Record<string, unknown>) =>
    paths(runQueryInMemory(docs, nq({ orderBy: [["v", "asc"]], ...body }))).map((p) => p.slice(2));

  it("applies start cursors with a prefix of the order", () => {
    expect(run({ startAt: [2] })).toEqual(["c", "d", "e"]);
    expect(run({ startAfter: [2] })).toEqual(["e"]);
    expect(run({ startAt: [2, "d"] })).toEqual(["d", "e"]);
    expect(run({ startAfter: [2, "c"] })).toEqual(["d", "e"]);
    expect(run({ startAt: [1.5] })).toEqual(["c", "d", "e"]);
  });

  it("applies end cursors", () => {
    expect(run({ endAt: [2] })).toEqual(["a", "b", "c", "d"]);
    expect(run({ endBefore: [2] })).toEqual(["a", "b"]);
    expect(run({ endBefore: [2, "d"] })).toEqual(["a", "b", "c"]);
    expect(run({ startAfter: [1], endAt: [2, "c"] })).toEqual(["c"]);
  });

  it("applies cursors in descending order", () => {
    expect(run({ orderBy: [["v", "desc"]], startAt: [2] })).toEqual(["d", "c", "b", "a"]);
    expect(run({ orderBy: [["v", "desc"]], startAfter: [2, "d"] })).toEqual(["c", "b", "a"]);
    expect(run({ orderBy: [["v", "desc"]], endBefore: [1] })).toEqual(["e", "d", "c"]);
  });

  it("compares cursor values across types", () => {
    expect(run({ startAt: ["x"] })).toEqual([]);
    expect(run({ startAt: [null] })).toEqual(["a", "b", "c", "d", "e"]);
    expect(run({ endBefore: [{ $timestamp: "2020-01-01T00:00:00Z" }] })).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("applies limit and limitToLast after the cursors", () => {
    expect(run({ limit: 2 })).toEqual(["a", "b"]);
    expect(run({ limitToLast: 2 })).toEqual(["d", "e"]);
    expect(run({ limitToLast: 2, endBefore: [3] })).toEqual(["c", "d"]);
    expect(run({ limit: 2, startAfter: [1] })).toEqual(["c", "d"]);
    expect(run({ limitToLast: 10 })).toEqual(["a", "b", "c", "d", "e"]);
  });
});

describe("runQueryInMemory: scope, select, aggregates", () => {
  const docs = [
    doc("users/a", { age: 30, name: { first: "A", last: "X" }, tags: ["x"] }),
    doc("users/b", { age: 20.5, name: { first: "B" } }),
    doc("users/c", { age: "old" }),
    doc("users/d", { nick: "d" }),
    doc("users/a/posts/p1", { age: 99 }),
    doc("rooms/r/users/e", { age: 1 }),
  ];

  it("keeps a collection query to its collection and a group query to the id", () => {
    expect(paths(runQueryInMemory(docs, nq({}, { collection: "users" })))).toEqual([
      "users/a",
      "users/b",
      "users/c",
      "users/d",
    ]);
    expect(paths(runQueryInMemory(docs, nq({}, { collectionGroup: "users" })))).toEqual([
      "rooms/r/users/e",
      "users/a",
      "users/b",
      "users/c",
      "users/d",
    ]);
    expect(paths(runQueryInMemory(docs, nq({}, { collection: "users/a/posts" })))).toEqual(["users/a/posts/p1"]);
  });

  it("applies the select mask and keeps other document properties", () => {
    const r = runQueryInMemory(docs, nq({ select: ["name.first", "tags", "missing"], limit: 2 }, { collection: "users" }));
    expect(r.docs).toEqual([
      { path: "users/a", data: { name: { first: "A" }, tags: ["x"] }, version: 1 },
      { path: "users/b", data: { name: { first: "B" } }, version: 1 },
    ]);
    expect(runQueryInMemory(docs, nq({ select: [], limit: 1 }, { collection: "users" })).docs[0].data).toEqual({});
    expect(r.aggregates).toBeUndefined();
  });

  it("counts, sums and averages numbers only, over the limited result", () => {
    const agg = (body: Record<string, unknown>) =>
      runQueryInMemory(
        docs,
        nq(
          { aggregate: { n: { count: true }, s: { sum: "age" }, m: { avg: "age" }, none: { avg: "nick" }, z: { sum: "nick" } }, ...body },
          { collection: "users" },
        ),
      ).aggregates;
    expect(agg({})).toEqual({ n: 4, s: 50.5, m: 25.25, none: null, z: 0 });
    expect(agg({ limit: 1 })).toEqual({ n: 1, s: 30, m: 30, none: null, z: 0 });
    expect(agg({ where: ["age", ">", 100] })).toEqual({ n: 0, s: 0, m: null, none: null, z: 0 });
  });

  it("matchesQuery requires scope, filter and every orderBy field", () => {
    const q = nq({ where: ["age", ">", 10], orderBy: [["name.first", "asc"]] }, { collection: "users" });
    expect(docs.filter((d) => matchesQuery(d, q)).map((d) => d.path)).toEqual(["users/a", "users/b"]);
    const q2 = nq({ orderBy: [["nick", "asc"]] }, { collection: "users" });
    expect(docs.filter((d) => matchesQuery(d, q2)).map((d) => d.path)).toEqual(["users/d"]);
  });
});

describe("NaN, ±Infinity, -0 and geopoints (Firestore's rules)", () => {
  const NUMS: Record<string, Value> = {
    nan: { $double: "NaN" },
    ninf: { $double: "-Infinity" },
    neg: -1,
    negZero: { $double: "-0" },
    zero: 0,
    one: 1,
    inf: { $double: "Infinity" },
    geoA: { $geo: { latitude: 10, longitude: 20 } },
    geoB: { $geo: { latitude: 10, longitude: 30 } },
    arrNaN: [{ $double: "NaN" }],
  };
  const docs: QueryDocument[] = Object.entries(NUMS).map(([id, v]) => ({ path: `c/${id}`, data: { v } as DocumentData }));
  const match = (op: string, value: unknown) => {
    const q = nq({ where: ["v", op, value] });
    return docs.filter((d) => matchesDnf(d, q.dnf)).map((d) => d.path.slice(2));
  };

  it("== NaN, in [NaN] and array-contains NaN match NaN only", () => {
    expect(match("==", { $double: "NaN" })).toEqual(["nan"]);
    expect(match("in", [{ $double: "NaN" }, 1])).toEqual(["nan", "one"]);
    expect(match("array-contains", { $double: "NaN" })).toEqual(["arrNaN"]);
    expect(match("!=", { $double: "NaN" })).not.toContain("nan");
  });

  it("range filters never match NaN; ±Infinity sit at the ends; -0 equals 0", () => {
    expect(match("<", 0)).toEqual(["ninf", "neg"]);
    expect(match(">=", { $double: "-Infinity" })).toEqual(["ninf", "neg", "negZero", "zero", "one", "inf"]);
    expect(match("==", 0)).toEqual(["negZero", "zero"]);
    expect(match("==", { $double: "-0" })).toEqual(["negZero", "zero"]);
    expect(match(">", 1)).toEqual(["inf"]);
  });

  it("refuses NaN as a range operand", () => {
    expect(() => nq({ where: ["v", "<", { $double: "NaN" }] })).toThrow(/NaN supports only '==' and '!='/);
  });

  it("geopoints filter and order by latitude then longitude", () => {
    expect(match(">", { $geo: { latitude: 10, longitude: 20 } })).toEqual(["geoB"]);
    expect(match("==", { $geo: { latitude: 10, longitude: 30 } })).toEqual(["geoB"]);
    const ordered = runQueryInMemory(docs, nq({ orderBy: [["v", "asc"]] })).docs.map((d) => d.path.slice(2));
    expect(ordered).toEqual(["nan", "ninf", "neg", "negZero", "zero", "one", "inf", "geoA", "geoB", "arrNaN"]);
  });

  it("sum and avg follow IEEE: NaN wins, overflow is Infinity, Infinity - Infinity is NaN", () => {
    const agg = (values: Value[], op: "sum" | "avg") => {
      const ds = values.map((v, i) => ({ path: `c/${i}`, data: { v } as DocumentData }));
      return runQueryInMemory(ds, nq({ aggregate: { r: { [op]: "v" } } })).aggregates!.r;
    };
    expect(agg([1, { $double: "NaN" }], "sum")).toEqual({ $double: "NaN" });
    expect(agg([1, { $double: "NaN" }], "avg")).toEqual({ $double: "NaN" });
    expect(agg([1.7e308, 1.7e308], "sum")).toEqual({ $double: "Infinity" });
    expect(agg([{ $double: "Infinity" }, { $double: "-Infinity" }], "sum")).toEqual({ $double: "NaN" });
    expect(agg([{ $double: "-Infinity" }, 5], "avg")).toEqual({ $double: "-Infinity" });
    expect(agg([{ $double: "-0" }, 2], "avg")).toBe(1);
  });
});

describe("null in set operators", () => {
  it("in [null] and array-contains-any [null] match nothing; not-in [x, null] matches nothing", () => {
    const docs: QueryDocument[] = [
      { path: "c/n", data: { v: null } },
      { path: "c/a", data: { v: [null] } },
      { path: "c/x", data: { v: "x" } },
    ];
    for (const where of [["v", "in", [null]], ["v", "array-contains-any", [null]], ["v", "not-in", ["y", null]]]) {
      expect(runQueryInMemory(docs, nq({ where })).docs).toEqual([]);
      expect(nq({ where }).dnf).toEqual([]);
    }
    // A null next to other values is ignored.
    expect(nq({ where: ["v", "in", ["x", null]] }).dnf).toEqual(nq({ where: ["v", "in", ["x"]] }).dnf);
    expect(runQueryInMemory(docs, nq({ where: ["v", "in", ["x", null]] })).docs.map((d) => d.path)).toEqual(["c/x"]);
    // An OR keeps its other branch.
    const q = nq({ where: { or: [["v", "in", [null]], ["v", "==", null]] } });
    expect(runQueryInMemory(docs, q).docs.map((d) => d.path)).toEqual(["c/n"]);
  });
});
