import { describe, expect, it } from "vitest";
import { BlazeError } from "../core/errors";
import { parseQuery } from "../core/query/ast";
import { normalizeQuery } from "../core/query/normalize";
import { parseIndexConfig } from "../index/config";
import { compile } from "../index/d1";
import { groupStatement } from "./group-by-sql";
import { planQuery } from "./planner";

const EXEMPT = parseIndexConfig({ fieldOverrides: [{ collectionGroup: "users", fieldPath: "bio", indexes: [] }] });
const nq = (body: Record<string, unknown>) => normalizeQuery(parseQuery({ from: { collection: "users" }, ...body }));

describe("group-by plans", () => {
  it("refuse a group key or min/max on a field exempt from indexing, naming the exemption", () => {
    for (const body of [
      { groupBy: ["bio"], aggregate: { n: { count: true } } },
      { aggregate: { lo: { min: "bio" } } },
      { groupBy: ["city"], aggregate: { hi: { max: "bio" } } },
    ]) {
      let error: unknown;
      try {
        planQuery(nq(body), { config: EXEMPT });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(BlazeError);
      expect((error as BlazeError).code).toBe("FAILED_PRECONDITION");
      expect((error as BlazeError).details).toEqual({ exemption: { collectionGroup: "users", fieldPath: "bio" } });
    }
    // sum and avg read document data, so an exempt field is fine there.
    expect(() => planQuery(nq({ groupBy: ["city"], aggregate: { s: { sum: "bio" } } }), { config: EXEMPT })).not.toThrow();
  });

  it("read the first key's entries directly without a filter, and the filter's paths with one", () => {
    const whole = nq({ groupBy: ["city", "age"], aggregate: { n: { count: true }, s: { sum: "age" } } });
    const direct = compile(groupStatement(planQuery(whole, { config: EXEMPT }), whole.aggregate!, whole.groups, 10)).sql;
    expect(direct).toContain("FROM documents d CROSS JOIN index_entries g0 ON g0.doc_path = d.path");
    const countOnly = nq({ groupBy: ["city", "age"], aggregate: { n: { count: true } } });
    expect(compile(groupStatement(planQuery(countOnly, { config: EXEMPT }), countOnly.aggregate!, countOnly.groups, 10)).sql).toContain("FROM index_entries g0 CROSS JOIN index_entries g1");
    const filtered = nq({ where: ["age", ">", 3], groupBy: ["city"], aggregate: { n: { count: true } } });
    expect(compile(groupStatement(planQuery(filtered, { config: EXEMPT }), filtered.aggregate!, filtered.groups, 10)).sql).toMatch(/FROM \(SELECT e\.doc_path AS path FROM index_entries e .*\) m CROSS JOIN index_entries g0/);
  });

  it("stay within D1's 100 bound parameters however large the query", () => {
    const ors = Array.from({ length: 30 }, (_, i) => ["tag", "==", `value-${i}`]);
    const big = nq({
      where: { or: ors },
      groupBy: ["a", "b", "c", "d", "e", "f", "g", "h"],
      aggregate: { s: { sum: "x" }, v: { avg: "`we\"ird`" }, lo: { min: "y" }, hi: { max: "z" }, n: { count: true } },
      startAfter: [1, 2, 3, 4, 5, 6, 7, 8],
    });
    expect(() => compile(groupStatement(planQuery(big, { config: EXEMPT }), big.aggregate!, big.groups, 1000))).not.toThrow();
  });
});
