import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BlazeError } from "../errors";
import type { Value } from "../values";
import { parseQuery, type FilterAst } from "./ast";
import { matchesDnf, matchesFieldFilter, matchesFilter, type QueryDocument } from "./evaluate";
import { canonicalKey, normalizeQuery, type FieldFilter, type NormalizedQuery } from "./normalize";

const from = { collection: "users" };
const q = (body: Record<string, unknown>): NormalizedQuery => normalizeQuery(parseQuery({ from, ...body }));
const key = (body: Record<string, unknown>) => canonicalKey(q(body));

function rejection(body: Record<string, unknown>): string {
  try {
    q(body);
  } catch (e) {
    expect(e).toBeInstanceOf(BlazeError);
    expect((e as BlazeError).code).toBe("INVALID_ARGUMENT");
    return (e as BlazeError).message;
  }
  throw new Error(`expected ${JSON.stringify(body).slice(0, 200)} to be rejected`);
}

const range = (n: number, start = 0) => Array.from({ length: n }, (_, i) => i + start);
const eq = (field: string, value: Value): FilterAst => [field, "==", value];
/** The orderBy of a normalized query as [field, direction] pairs. */
const order = (nq: NormalizedQuery) => nq.orderBy.map((o) => [o.field, o.direction]);
/** The DNF of a normalized query as [field, op, value] triples. */
const dnf = (nq: NormalizedQuery) => nq.dnf.map((c) => c.map((f) => [f.field, f.op, f.value]));

describe("normalizeQuery: shape", () => {
  it("normalizes the design.md example", () => {
    const nq = q({
      where: { and: [["age", ">=", 18], { or: [["city", "==", "Oslo"], ["city", "==", "Rome"]] }] },
      orderBy: [["age", "desc"]],
      limit: 20,
      startAfter: [42],
      aggregate: { total: { sum: "age" }, n: { count: true } },
      after: "tok",
    });
    expect(nq.scope).toEqual({ kind: "collection", path: "users", collectionId: "users" });
    expect(dnf(nq)).toEqual([
      [["age", ">=", 18], ["city", "==", "Oslo"]],
      [["age", ">=", 18], ["city", "==", "Rome"]],
    ]);
    expect(order(nq)).toEqual([["age", "desc"], ["__name__", "desc"]]);
    expect(nq.startAt).toEqual({ values: [42], inclusive: false });
    expect(nq.endAt).toBeNull();
    expect(nq.limit).toEqual({ count: 20, last: false });
    expect(nq.aggregate).toEqual([
      { alias: "n", op: "count" },
      { alias: "total", op: "sum", field: "age", segments: ["age"] },
    ]);
    expect(nq.after).toBe("tok");
    expect(nq.explain).toBe(false);
  });

  it("gives a query without filter one empty conjunction", () => {
    const nq = q({});
    expect(nq.dnf).toEqual([[]]);
    expect(order(nq)).toEqual([["__name__", "asc"]]);
    expect(nq).toMatchObject({ startAt: null, endAt: null, limit: null, select: null, aggregate: null, after: null });
  });

  it("resolves collection groups and nested collections", () => {
    expect(normalizeQuery(parseQuery({ from: { collectionGroup: "posts" } })).scope).toEqual({
      kind: "collectionGroup",
      collectionId: "posts",
    });
    expect(normalizeQuery(parseQuery({ from: { collection: "users/alice/posts" } })).scope).toEqual({
      kind: "collection",
      path: "users/alice/posts",
      collectionId: "posts",
    });
  });

  it("rejects bad paths and ids", () => {
    expect(normalizeQuery.bind(null, parseQuery({ from: { collection: "users/alice" } }))).toThrow(/collection/);
    expect(normalizeQuery.bind(null, parseQuery({ from: { collectionGroup: "a/b" } }))).toThrow(/must not contain/);
    expect(normalizeQuery.bind(null, parseQuery({ from: { collectionGroup: "__x__" } }))).toThrow(/reserved/);
  });

  it("canonicalizes field paths, values and in-lists", () => {
    const nq = q({
      where: {
        and: [
          ["`a`.b", "in", [3, 1, 2, 1]],
          ["t", "==", { $timestamp: "2024-01-01T01:00:00+01:00" }],
        ],
      },
    });
    expect(dnf(nq)).toEqual([
      [
        ["a.b", "in", [1, 2, 3]],
        ["t", "==", { $timestamp: "2024-01-01T00:00:00.000000000Z" }],
      ],
    ]);
    expect(nq.dnf[0][0].segments).toEqual(["a", "b"]);
  });

  it("rejects invalid field paths and values", () => {
    expect(rejection({ where: ["a..b", "==", 1] })).toMatch(/where\[0\].*invalid field path/);
    expect(rejection({ where: ["__x__", "==", 1] })).toMatch(/reserved/);
    expect(rejection({ where: ["a", "==", { $timestamp: "yesterday" }] })).toMatch(/where\[2\].*\$timestamp/);
    expect(rejection({ where: ["a", "==", { $increment: 1 }] })).toMatch(/not allowed/);
    expect(rejection({ orderBy: [["a.", "asc"]] })).toMatch(/orderBy\[0\]\[0\]/);
  });

  it("normalizes select: sorted, deduplicated, covered paths dropped", () => {
    const nq = q({ select: ["b", "a.c", "a", "b", "__name__", "`a-b`"] });
    expect(nq.select!.map((s) => s.field)).toEqual(["a", "`a-b`", "b"]);
    expect(q({ select: [] }).select).toEqual([]);
  });

  it("requires sum, avg, min and max to name a field other than __name__", () => {
    expect(rejection({ aggregate: { s: { sum: "__name__" } } })).toMatch(/'sum' needs a field, not __name__/);
    expect(rejection({ aggregate: { s: { min: "__name__" } } })).toMatch(/'min' needs a field, not __name__/);
  });
});

describe("normalizeQuery: operand rules", () => {
  it("needs a non-empty array for in, not-in and array-contains-any", () => {
    for (const op of ["in", "not-in", "array-contains-any"]) {
      expect(rejection({ where: ["a", op, 1] })).toContain(`'${op}' needs a non-empty array`);
      expect(rejection({ where: ["a", op, []] })).toContain(`'${op}' needs a non-empty array`);
    }
  });

  it("allows 30 in / array-contains-any values and 10 not-in values, no more", () => {
    expect(q({ where: ["a", "in", range(30)] }).dnf[0][0].value).toHaveLength(30);
    expect(rejection({ where: ["a", "in", range(31)] })).toContain("at most 30 values, got 31");
    q({ where: ["a", "array-contains-any", range(30)] });
    expect(rejection({ where: ["a", "array-contains-any", range(31)] })).toContain("at most 30 values");
    q({ where: ["a", "not-in", range(10)] });
    expect(rejection({ where: ["a", "not-in", range(11)] })).toContain("at most 10 values, got 11");
  });

  it("refuses null with range operators and allows it with ==, !=, in, array-contains", () => {
    for (const op of ["<", "<=", ">", ">="]) {
      expect(rejection({ where: ["a", op, null] })).toContain("null supports only '==' and '!='");
    }
    for (const op of ["==", "!=", "array-contains"]) q({ where: ["a", op, null] });
    q({ where: ["a", "in", [null, 1]] });
  });

  it("allows range operators on arrays, maps and tagged values", () => {
    q({ where: ["a", "<", [1, 2]] });
    q({ where: ["a", ">=", { x: 1 }] });
    q({ where: ["a", ">", { $bytes: "AAE=" }] });
  });
});

describe("normalizeQuery: __name__", () => {
  const group = (body: Record<string, unknown>) => normalizeQuery(parseQuery({ from: { collectionGroup: "posts" }, ...body }));

  it("resolves ids against the collection and checks paths are in it", () => {
    expect(q({ where: ["__name__", "==", "alice"] }).dnf[0][0].value).toEqual({ $ref: "users/alice" });
    expect(q({ where: ["__name__", ">", "users/bob"] }).dnf[0][0].value).toEqual({ $ref: "users/bob" });
    expect(q({ where: ["__name__", "<", { $ref: "users/bob" }] }).dnf[0][0].value).toEqual({ $ref: "users/bob" });
    expect(q({ where: ["__name__", "in", ["b", "a", "users/a"]] }).dnf[0][0].value).toEqual([
      { $ref: "users/a" },
      { $ref: "users/b" },
    ]);
    expect(rejection({ where: ["__name__", "==", "rooms/alice"] })).toContain("not in the queried collection");
    expect(rejection({ where: ["__name__", "==", "users/alice/posts/p1"] })).toContain("not in the queried collection");
    expect(rejection({ where: ["__name__", "==", "users/alice/posts"] })).toContain("not a document path");
    expect(rejection({ where: ["__name__", "==", 7] })).toContain("__name__ takes a document id or path");
    expect(rejection({ where: ["__name__", "==", null] })).toContain("__name__ takes a document id or path");
    expect(rejection({ where: ["__name__", "not-in", ["a", 1]] })).toContain("where[2][1]");
  });

  it("needs full document paths in a collection group", () => {
    expect(group({ where: ["__name__", "==", "users/alice/posts/p1"] }).dnf[0][0].value).toEqual({
      $ref: "users/alice/posts/p1",
    });
    // Any document path is a valid bound, as in Firestore's prefix trick.
    group({ orderBy: [["__name__", "asc"]], startAt: ["users/alice"], endAt: ["users/alice/\uf8ff/x"] });
    expect(() => group({ where: ["__name__", "==", "p1"] })).toThrow(/collection path, not a document path/);
  });

  it("refuses array operators on __name__", () => {
    expect(rejection({ where: ["__name__", "array-contains", "a"] })).toContain("not supported on __name__");
    expect(rejection({ where: ["__name__", "array-contains-any", ["a"]] })).toContain("not supported on __name__");
  });

  it("normalizes cursor values at a __name__ position", () => {
    const nq = q({ orderBy: [["age", "asc"]], startAfter: [3, "bob"] });
    expect(nq.startAt).toEqual({ values: [3, { $ref: "users/bob" }], inclusive: false });
    expect(rejection({ orderBy: [["age", "asc"]], startAfter: [3, 4] })).toContain("startAfter[1]");
  });
});

describe("normalizeQuery: combination rules", () => {
  it("allows 30 disjunctions and refuses 31", () => {
    q({ where: { or: range(30).map((i) => eq("a", i)) } });
    expect(rejection({ where: { or: range(31).map((i) => eq("a", i)) } })).toContain("disjunctions");
  });

  it("counts in and array-contains-any values as disjunctions", () => {
    q({ where: { and: [["a", "in", range(5)], ["b", "in", range(6)]] } }); // 30
    expect(rejection({ where: { and: [["a", "in", range(6)], ["b", "in", range(6)]] } })).toContain(
      "36 disjunctions",
    );
    expect(rejection({ where: { or: [["a", "in", range(30)], eq("b", 1)] } })).toContain("31 disjunctions");
    expect(rejection({ where: { or: [["a", "array-contains-any", range(30)], eq("b", 1)] } })).toContain(
      "31 disjunctions",
    );
  });

  it("stops expanding early instead of blowing up", () => {
    const where = { and: range(20).map((i) => ({ or: [eq(`f${i}`, 1), eq(`f${i}`, 2)] })) };
    expect(rejection({ where })).toContain("more than 30");
  });

  it("allows one array-contains or array-contains-any per conjunction", () => {
    expect(rejection({ where: { and: [["a", "array-contains", 1], ["b", "array-contains", 2]] } })).toContain(
      "at most one 'array-contains'",
    );
    expect(rejection({ where: { and: [["a", "array-contains", 1], ["b", "array-contains-any", [2]]] } })).toContain(
      "at most one 'array-contains'",
    );
    expect(
      rejection({ where: { and: [["a", "array-contains", 1], { or: [eq("c", 1), ["b", "array-contains", 2]] }] } }),
    ).toContain("at most one 'array-contains'");
    q({ where: { or: [["a", "array-contains", 1], ["b", "array-contains", 2]] } });
  });

  it("restricts not-in", () => {
    expect(rejection({ where: { and: [["a", "not-in", [1]], ["b", "not-in", [2]]] } })).toContain(
      "at most one 'not-in'",
    );
    expect(rejection({ where: { and: [["a", "not-in", [1]], ["b", "!=", 2]] } })).toContain("with '!='");
    expect(rejection({ where: { and: [["a", "not-in", [1]], ["b", "in", [2]]] } })).toContain("with 'in'");
    expect(rejection({ where: { and: [["a", "not-in", [1]], ["b", "array-contains-any", [2]]] } })).toContain(
      "with 'array-contains-any'",
    );
    expect(rejection({ where: { or: [["a", "not-in", [1]], eq("b", 2)] } })).toContain("with 'or'");
    q({ where: { and: [["a", "not-in", [1]], ["b", "array-contains", 2], ["c", ">", 1]] } });
    // The same not-in twice is one filter; an or of one child is no or.
    q({ where: { and: [["a", "not-in", [1]], { or: [["a", "not-in", [1]]] }] } });
  });

  it("allows one != and range filters on up to 10 fields", () => {
    q({ where: { and: [["a", "!=", 1], ["c", ">", 3], ["c", "<", 9]] } });
    q({ where: { and: range(10).map((i): FilterAst => [`f${i}`, ">", 0]) } });
    expect(rejection({ where: { and: range(11).map((i): FilterAst => [`f${i}`, ">", 0]) } })).toContain(
      "on 11 fields; the limit is 10",
    );
  });

  it("refuses a second != anywhere in the query (Firestore SDK: conflictingOps)", () => {
    expect(rejection({ where: { and: [["a", "!=", 1], ["b", "!=", 2]] } })).toContain("at most one '!='");
    expect(rejection({ where: { and: [["a", "!=", 1], ["a", "!=", 2]] } })).toContain("at most one '!='");
    expect(rejection({ where: { or: [["a", "!=", 1], ["b", "!=", 2]] } })).toContain("at most one '!='");
    // One != that DNF copies into every conjunction is still one filter.
    q({ where: { and: [["a", "!=", 1], { or: [eq("b", 1), eq("b", 2)] }] } });
  });

  it("caps the number of field filters and the nesting", () => {
    q({ where: { and: range(100).map((i) => eq("a", i)) } });
    expect(rejection({ where: { and: range(101).map((i) => eq("a", i)) } })).toContain("more than 100 field filters");
    // Firestore's sum: filters + orderBy entries + 1 for a subcollection's parent.
    const orderBy = range(10).map((i): [string, "asc"] => [`o${i}`, "asc"]);
    q({ where: { and: range(90).map((i) => eq("a", i)) }, orderBy });
    expect(rejection({ where: { and: range(91).map((i) => eq("a", i)) }, orderBy })).toContain(
      "101 filters, orderBy entries and parent path; the limit is 100",
    );
    const sub = { collection: "users/u1/posts" };
    expect(() => normalizeQuery(parseQuery({ from: sub, where: { and: range(90).map((i) => eq("a", i)) }, orderBy }))).toThrow(
      /101 filters/,
    );
    let deep: FilterAst = eq("a", 1);
    for (let i = 0; i < 25; i++) deep = { and: [deep] };
    expect(rejection({ where: deep })).toContain("nested deeper than 20");
  });
});

describe("normalizeQuery: order and cursors", () => {
  it("appends inequality fields in field-path order, then __name__", () => {
    expect(order(q({ where: { and: [["b", ">", 1], ["a", "<", 5], eq("c", 1)] } }))).toEqual([
      ["a", "asc"],
      ["b", "asc"],
      ["__name__", "asc"],
    ]);
    // Segment order, not string order: a.b before `a-c` (the backtick sorts first as a string).
    expect(order(q({ where: { and: [["`a-c`", "!=", 1], ["a.b", "<", 1]] } }))).toEqual([
      ["a.b", "asc"],
      ["`a-c`", "asc"],
      ["__name__", "asc"],
    ]);
    expect(order(q({ where: { and: [["a.b", ">", 1], ["a", ">", 1]] } }))).toEqual([
      ["a", "asc"],
      ["a.b", "asc"],
      ["__name__", "asc"],
    ]);
  });

  it("keeps the explicit order first; implicit entries take its last direction", () => {
    expect(order(q({ where: ["a", ">", 1], orderBy: [["c", "desc"]] }))).toEqual([
      ["c", "desc"],
      ["a", "desc"],
      ["__name__", "desc"],
    ]);
    expect(order(q({ where: ["a", ">", 1], orderBy: [["a", "desc"], ["c", "asc"]] }))).toEqual([
      ["a", "desc"],
      ["c", "asc"],
      ["__name__", "asc"],
    ]);
    expect(order(q({ where: { or: [["a", ">", 1], ["b", "<", 1]] } }))).toEqual([
      ["a", "asc"],
      ["b", "asc"],
      ["__name__", "asc"],
    ]);
  });

  it("does not add __name__ twice", () => {
    expect(order(q({ where: ["__name__", ">", "a"] }))).toEqual([["__name__", "asc"]]);
    expect(order(q({ orderBy: [["__name__", "desc"]] }))).toEqual([["__name__", "desc"]]);
  });

  it("refuses fields ordered after __name__, explicitly or implicitly", () => {
    expect(rejection({ orderBy: [["__name__", "asc"], ["a", "asc"]] })).toContain(
      "__name__ must be the last orderBy field, but a would come after it",
    );
    expect(rejection({ where: ["a", ">", 1], orderBy: [["__name__", "desc"]] })).toContain("ordered implicitly");
    expect(order(q({ where: ["a", ">", 1], orderBy: [["a", "asc"], ["__name__", "desc"]] }))).toEqual([
      ["a", "asc"],
      ["__name__", "desc"],
    ]);
  });

  it("refuses a field ordered twice", () => {
    expect(rejection({ orderBy: [["a", "asc"], ["a", "desc"]] })).toContain("ordered more than once");
    expect(rejection({ orderBy: [["a.b", "asc"], ["`a`.`b`", "desc"]] })).toContain("ordered more than once");
  });

  it("allows cursors up to the resolved orderBy length, no longer", () => {
    expect(q({ orderBy: [["a", "asc"]], startAt: [1, "x"] }).startAt).toEqual({
      values: [1, { $ref: "users/x" }],
      inclusive: true,
    });
    expect(q({ orderBy: [["a", "asc"], ["b", "asc"]], endBefore: [1] }).endAt).toEqual({ values: [1], inclusive: false });
    // The implicit inequality field counts.
    q({ where: ["b", ">", 0], orderBy: [["a", "asc"]], endAt: [1, 2, "x"] });
    expect(rejection({ orderBy: [["a", "asc"]], startAt: [1, "x", 3] })).toContain(
      "startAt has 3 values but the query orders by 2 fields",
    );
    expect(rejection({ endAt: [1, 2] })).toContain("endAt has 2 values but the query orders by 1 fields");
  });

  it("needs an explicit orderBy for limitToLast", () => {
    expect(rejection({ limitToLast: 3 })).toContain("limitToLast needs at least one orderBy");
    expect(q({ orderBy: [["a", "asc"]], limitToLast: 3 }).limit).toEqual({ count: 3, last: true });
  });
});

// ------------------------------------------------------------ canonicalKey

describe("canonicalKey", () => {
  it("ignores after and explain", () => {
    expect(key({ where: eq("a", 1), after: "t1", explain: true })).toBe(key({ where: eq("a", 1) }));
  });

  it("is the same for an explicit trailing __name__ that equals the implicit one", () => {
    expect(key({ orderBy: [["a", "desc"], ["__name__", "desc"]] })).toBe(key({ orderBy: [["a", "desc"]] }));
    expect(key({ where: ["a", ">", 1], orderBy: [["a", "asc"]] })).toBe(key({ where: ["a", ">", 1] }));
  });

  it("tells different queries apart", () => {
    const bodies: Record<string, unknown>[] = [
      {},
      { where: eq("a", 1) },
      { where: eq("a", "1") },
      { where: eq("a", [1]) },
      { where: eq("b", 1) },
      { where: eq("`a.b`", 1) },
      { where: eq("a.b", 1) },
      { where: ["a", "!=", 1] },
      { where: ["a", "in", [1]] },
      { where: ["a", "in", [1, 2]] },
      { where: { or: [eq("a", 1), eq("b", 1)] } },
      { where: { and: [eq("a", 1), eq("b", 1)] } },
      { orderBy: [["a", "asc"]] },
      { orderBy: [["a", "desc"]] },
      { orderBy: [["a", "asc"], ["b", "asc"]] },
      { orderBy: [["b", "asc"], ["a", "asc"]] },
      { orderBy: [["a", "asc"]], startAt: [1] },
      { orderBy: [["a", "asc"]], startAfter: [1] },
      { orderBy: [["a", "asc"]], endAt: [1] },
      { orderBy: [["a", "asc"]], endBefore: [1] },
      { limit: 5 },
      { limit: 6 },
      { orderBy: [["a", "asc"]], limit: 5 },
      { orderBy: [["a", "asc"]], limitToLast: 5 },
      { select: ["a"] },
      { select: [] },
      { aggregate: { n: { count: true } } },
      { aggregate: { m: { count: true } } },
      { aggregate: { n: { sum: "a" } } },
      { aggregate: { n: { avg: "a" } } },
    ];
    const keys = bodies.map(key);
    expect(new Set(keys).size).toBe(bodies.length);
    const scopes = [{ collection: "users" }, { collectionGroup: "users" }, { collection: "a/b/users" }];
    const scopeKeys = scopes.map((f) => canonicalKey(normalizeQuery(parseQuery({ from: f }))));
    expect(new Set(scopeKeys).size).toBe(3);
  });

  // Random filter trees, rewritten without changing their meaning.
  const leaf: fc.Arbitrary<FilterAst> = fc.oneof(
    fc.tuple(fc.constantFrom("a", "b", "c.d"), fc.constantFrom("==", "<", ">=", "!="), fc.integer({ min: 0, max: 3 })),
    fc.tuple(fc.constantFrom("a", "b"), fc.constant("in"), fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 2 })),
    fc.tuple(fc.constant("tags"), fc.constant("array-contains"), fc.constantFrom("x", "y")),
  ) as fc.Arbitrary<FilterAst>;
  const tree = fc.letrec<{ filter: FilterAst }>((tie) => ({
    filter: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      fc.array(tie("filter"), { minLength: 1, maxLength: 3 }).map((and) => ({ and })),
      fc.array(tie("filter"), { minLength: 1, maxLength: 3 }).map((or) => ({ or })),
    ),
  })).filter;

  /** A small seeded PRNG, so a rewrite is a pure function of (tree, seed). */
  function prng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = Math.imul(s ^ (s >>> 15), 1 | s);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** Shuffles children, regroups them (associativity) and wraps nodes in one-child and/or. */
  function rewrite(f: FilterAst, rnd: () => number): FilterAst {
    let out: FilterAst;
    if (Array.isArray(f)) {
      out = f[1] === "in" ? [f[0], "in", [...(f[2] as Value[])].reverse()] : f;
    } else {
      const kind = "and" in f ? "and" : "or";
      const children = ("and" in f ? f.and : f.or).map((c) => rewrite(c, rnd));
      for (let i = children.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [children[i], children[j]] = [children[j], children[i]];
      }
      if (children.length >= 2 && rnd() < 0.5) {
        const head = children.splice(0, 2);
        children.unshift(kind === "and" ? { and: head } : { or: head });
      }
      out = kind === "and" ? { and: children } : { or: children };
    }
    const r = rnd();
    if (r < 0.2) return { and: [out] };
    if (r < 0.4) return { or: [out] };
    // A repeated field filter is one filter. (A repeated subtree is not
    // harmless: (x or y) and (x or y) has the conjunction x and y.)
    if (r < 0.5 && Array.isArray(out)) return { and: [out, out] };
    return out;
  }

  function tryNormalize(where: FilterAst): NormalizedQuery | undefined {
    try {
      return q({ where });
    } catch (e) {
      if (e instanceof BlazeError && e.code === "INVALID_ARGUMENT") return undefined;
      throw e;
    }
  }

  it("is the same for the same filter written differently (fast-check)", () => {
    fc.assert(
      fc.property(tree, fc.integer(), (where, seed) => {
        const a = tryNormalize(where);
        const b = tryNormalize(rewrite(where, prng(seed)));
        expect(b === undefined).toBe(a === undefined);
        if (a && b) expect(canonicalKey(b)).toBe(canonicalKey(a));
      }),
      { numRuns: 500 },
    );
  });

  // The DNF must mean what the tree means: evaluate the tree directly and compare.
  const docArb: fc.Arbitrary<QueryDocument> = fc
    .record(
      {
        a: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(null), fc.constant("s")),
        b: fc.integer({ min: 0, max: 3 }),
        c: fc.record({ d: fc.integer({ min: 0, max: 3 }) }),
        tags: fc.subarray(["x", "y", "z"]),
      },
      { requiredKeys: [] },
    )
    .map((data) => ({ path: "users/u", data: data as QueryDocument["data"] }));

  /** One field filter, normalized on its own; undefined if it can match nothing (null in a set operator). */
  const leafFilter = (f: FilterAst): FieldFilter | undefined => q({ where: f }).dnf[0]?.[0];
  const evalLeaf = (f: FilterAst, doc: QueryDocument): boolean => {
    const leaf = leafFilter(f);
    return leaf !== undefined && matchesFieldFilter(doc, leaf);
  };
  const evalTree = (f: FilterAst, doc: QueryDocument): boolean =>
    Array.isArray(f)
      ? evalLeaf(f, doc)
      : "and" in f
        ? f.and.every((c) => evalTree(c, doc))
        : f.or.some((c) => evalTree(c, doc));

  it("keeps the meaning of the filter tree (fast-check)", () => {
    fc.assert(
      fc.property(tree, fc.array(docArb, { maxLength: 8 }), (where, docs) => {
        const nq = tryNormalize(where);
        fc.pre(nq !== undefined);
        for (const doc of docs) expect(matchesDnf(doc, nq!.dnf)).toBe(evalTree(where, doc));
      }),
      { numRuns: 500 },
    );
  });
});
