import { describe, expect, it } from "vitest";
import { BlazeError } from "../errors";
import { parseQuery } from "./ast";
import { runQueryInMemory, type QueryDocument } from "./evaluate";
import { runGroupByInMemory } from "./group-by";
import { canonicalKey, normalizeQuery, type GroupSpec, type NormalizedQuery } from "./normalize";

const q = (body: Record<string, unknown>) => normalizeQuery(parseQuery({ from: { collection: "c" }, ...body }));
const grouped = (body: Record<string, unknown>) => q(body) as NormalizedQuery & { groups: GroupSpec };

function rejection(body: Record<string, unknown>): string {
  try {
    q(body);
  } catch (e) {
    expect((e as BlazeError).code).toBe("INVALID_ARGUMENT");
    return (e as BlazeError).message;
  }
  throw new Error(`expected ${JSON.stringify(body)} to be rejected`);
}

const docs: QueryDocument[] = [
  { path: "c/1", data: { city: "Oslo", n: 2, t: "x" } },
  { path: "c/2", data: { city: "Oslo", n: 4.5, t: 1 } },
  { path: "c/3", data: { city: "Rome", n: { $double: "-0" } } },
  { path: "c/4", data: { city: 7, n: 1 } },
  { path: "c/5", data: { n: 100 } },
  { path: "c/6", data: { city: "Rome", n: "ten", t: null } },
  { path: "d/1", data: { city: "Oslo", n: 1000 } },
];

describe("normalizeQuery: groupBy", () => {
  it("keeps limit and startAfter for the groups, not the documents", () => {
    const nq = grouped({ groupBy: ["city", "`a.b`"], aggregate: { n: { count: true } }, limit: 3, startAfter: ["Oslo"] });
    expect(nq.groups).toEqual({ by: [{ field: "city", segments: ["city"] }, { field: "`a.b`", segments: ["a.b"] }], limit: 3, after: ["Oslo"] });
    expect(nq.limit).toBeNull();
    expect(nq.startAt).toBeNull();
  });

  it("refuses what does not fit groups", () => {
    const agg = { n: { count: true } };
    expect(rejection({ groupBy: ["a"], aggregate: agg, orderBy: [["a"]] })).toContain("orderBy cannot be combined with groupBy");
    expect(rejection({ groupBy: ["a"], aggregate: agg, limitToLast: 2 })).toContain("limitToLast cannot be combined");
    expect(rejection({ groupBy: ["a"], aggregate: agg, endAt: [1] })).toContain("endAt cannot be combined");
    expect(rejection({ groupBy: ["__name__"], aggregate: agg })).toContain("cannot group by __name__");
    expect(rejection({ groupBy: ["a", "a"], aggregate: agg })).toContain("grouped by more than once");
    expect(rejection({ groupBy: ["a"], aggregate: agg, limit: 1001 })).toContain("at most 1000");
    expect(rejection({ groupBy: ["a"], aggregate: agg, startAfter: [1, 2] })).toContain("at most one value per groupBy field");
    expect(rejection({ groupBy: ["a"], aggregate: agg, startAfter: [{ $timestamp: "no" }] })).toContain("startAfter[0]");
  });

  it("gives a group-by its own canonical key, and leaves other queries' keys as they were", () => {
    const plain = q({ aggregate: { n: { count: true } } });
    expect(canonicalKey(plain)).toBe(JSON.stringify([["c", "c"], [[]], [["__name__", "asc"]], null, null, null, null, [["n", "count"]]]));
    expect(canonicalKey(grouped({ groupBy: ["a"], aggregate: { n: { count: true } } }))).not.toBe(canonicalKey(plain));
    expect(canonicalKey(grouped({ groupBy: ["a"], aggregate: { n: { count: true } } }))).not.toBe(
      canonicalKey(grouped({ groupBy: ["b"], aggregate: { n: { count: true } } })),
    );
  });
});

describe("runGroupByInMemory", () => {
  const all = { n: { count: true }, s: { sum: "n" }, v: { avg: "n" }, lo: { min: "n" }, hi: { max: "t" } };

  it("groups by key in Firestore order, documents missing the key in no group", () => {
    const groups = runGroupByInMemory(docs, grouped({ groupBy: ["city"], aggregate: all }));
    expect(groups).toEqual([
      { key: [7], aggregates: { n: 1, s: 1, v: 1, lo: 1, hi: null } },
      { key: ["Oslo"], aggregates: { n: 2, s: 6.5, v: 3.25, lo: 2, hi: "x" } },
      // -0 counts as the number 0; "ten" is no number for sum and avg; t: null is a value for max.
      { key: ["Rome"], aggregates: { n: 2, s: 0, v: 0, lo: 0, hi: null } },
    ]);
  });

  it("applies the filter first, then the cursor and the limit to groups", () => {
    const base = { groupBy: ["city"], aggregate: { n: { count: true } } };
    expect(runGroupByInMemory(docs, grouped({ ...base, where: ["n", ">", 1] })).map((g) => g.key)).toEqual([["Oslo"]]);
    expect(runGroupByInMemory(docs, grouped({ ...base, startAfter: [7] })).map((g) => g.key)).toEqual([["Oslo"], ["Rome"]]);
    expect(runGroupByInMemory(docs, grouped({ ...base, startAfter: [7], limit: 1 })).map((g) => g.key)).toEqual([["Oslo"]]);
  });

  it("a cursor shorter than the key skips every key it starts", () => {
    const d = [
      { path: "c/a", data: { x: 1, y: 1 } },
      { path: "c/b", data: { x: 1, y: 2 } },
      { path: "c/c", data: { x: 2, y: 0 } },
      { path: "c/d", data: { x: 1.0, y: 2 } },
    ];
    const base = { groupBy: ["x", "y"], aggregate: { n: { count: true } } };
    expect(runGroupByInMemory(d, grouped(base))).toEqual([
      { key: [1, 1], aggregates: { n: 1 } },
      { key: [1, 2], aggregates: { n: 2 } },
      { key: [2, 0], aggregates: { n: 1 } },
    ]);
    expect(runGroupByInMemory(d, grouped({ ...base, startAfter: [1] })).map((g) => g.key)).toEqual([[2, 0]]);
    expect(runGroupByInMemory(d, grouped({ ...base, startAfter: [1, 1] })).map((g) => g.key)).toEqual([[1, 2], [2, 0]]);
  });

  it("0 and -0 are one group, keyed 0", () => {
    const d = [
      { path: "c/a", data: { x: 0 } },
      { path: "c/b", data: { x: { $double: "-0" } } },
    ];
    expect(runGroupByInMemory(d, grouped({ groupBy: ["x"], aggregate: { n: { count: true } } }))).toEqual([{ key: [0], aggregates: { n: 2 } }]);
  });
});

describe("min and max without groups", () => {
  it("take values of any type in Firestore order, null when none", () => {
    const r = runQueryInMemory(docs, q({ aggregate: { lo: { min: "n" }, hi: { max: "n" }, none: { min: "missing" } } }));
    expect(r.aggregates).toEqual({ lo: 0, hi: "ten", none: null });
  });
});
