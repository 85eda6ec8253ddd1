import { describe, expect, it } from "vitest";
import { BlazeError } from "../errors";
import { parseQuery } from "./ast";

/** The error parseQuery throws for a body, checked to be INVALID_ARGUMENT. */
function rejection(body: unknown): BlazeError {
  try {
    parseQuery(body);
  } catch (e) {
    expect(e).toBeInstanceOf(BlazeError);
    expect((e as BlazeError).code).toBe("INVALID_ARGUMENT");
    return e as BlazeError;
  }
  throw new Error(`expected ${JSON.stringify(body)?.slice(0, 200)} to be rejected`);
}

const from = { collection: "users" };

describe("parseQuery: valid bodies", () => {
  it("accepts the design.md example", () => {
    const body = {
      from: { collection: "users" },
      where: { and: [["age", ">=", 18], { or: [["city", "==", "Oslo"], ["city", "==", "Rome"]] }] },
      orderBy: [["age", "desc"]],
      limit: 20,
      startAfter: [42],
      aggregate: { n: { count: true }, total: { sum: "age" } },
      after: "token",
    };
    expect(parseQuery(body)).toEqual(body);
  });

  it("accepts every operator", () => {
    const ops = ["==", "!=", "<", "<=", ">", ">=", "array-contains", "array-contains-any", "in", "not-in"];
    for (const op of ops) expect(parseQuery({ from, where: ["a", op, [1]] }).where).toEqual(["a", op, [1]]);
  });

  it("defaults the orderBy direction to asc", () => {
    expect(parseQuery({ from, orderBy: [["a"], ["b", "desc"]] }).orderBy).toEqual([
      ["a", "asc"],
      ["b", "desc"],
    ]);
  });

  it("accepts collection groups, limitToLast, the other cursors, select, avg and explain", () => {
    const body = {
      from: { collectionGroup: "posts" },
      orderBy: [["a", "asc"]],
      limitToLast: 3,
      startAt: [1],
      endBefore: [9],
      explain: true,
    };
    expect(parseQuery(body)).toEqual(body);
    expect(parseQuery({ from, select: ["a", "b.c"] }).select).toEqual(["a", "b.c"]);
    expect(parseQuery({ from, aggregate: { m: { avg: "x" } } }).aggregate).toEqual({ m: { avg: "x" } });
  });

  it("accepts null and tagged values as operands", () => {
    expect(parseQuery({ from, where: ["a", "==", null] }).where).toEqual(["a", "==", null]);
    const ts = { $timestamp: "2024-01-01T00:00:00Z" };
    expect(parseQuery({ from, where: ["a", "<", ts] }).where).toEqual(["a", "<", ts]);
  });
});

describe("parseQuery: malformed bodies", () => {
  it("names an unknown operator and where it is", () => {
    const e = rejection({ from, where: { and: [["a", "==", 1], ["b", "like", "x%"]] } });
    expect(e.message).toContain('unknown operator "like"');
    expect(e.message).toContain("where.and[1][1]");
    expect((e.details as { issues: unknown[] }).issues).toHaveLength(1);
  });

  it("rejects filters of the wrong shape", () => {
    expect(rejection({ from, where: ["a", "=="] }).message).toContain("[field, operator, value]");
    expect(rejection({ from, where: ["a", "==", 1, 2] }).message).toContain("[field, operator, value]");
    expect(rejection({ from, where: 5 }).message).toContain('{"and": [filters]}');
    expect(rejection({ from, where: { and: [] } }).message).toContain('"and" needs at least one filter');
    expect(rejection({ from, where: { or: "x" } }).message).toContain("where.or");
    expect(rejection({ from, where: { and: [["a", "==", 1]], or: [["b", "==", 1]] } }).message).toContain(
      'Unrecognized key: "or"',
    );
    expect(rejection({ from, where: [1, "==", 1] }).message).toContain("where[0]");
    expect(rejection({ from, where: ["", "==", 1] }).message).toContain("must not be empty");
    expect(rejection({ from, where: ["a", "=="] }).message).toContain("where");
  });

  it("rejects a bad from", () => {
    expect(rejection({}).message).toContain("from");
    expect(rejection({ from: { table: "users" } }).message).toContain('{"collection": path}');
    expect(rejection({ from: { collection: 7 } }).message).toContain("collection must be a path string");
    expect(rejection({ from: { collection: "a", collectionGroup: "b" } }).message).toContain("Unrecognized key");
  });

  it("rejects bad limits", () => {
    expect(rejection({ from, limit: "10" }).message).toContain("limit must be a number");
    expect(rejection({ from, limit: 0 }).message).toContain("limit must be positive");
    expect(rejection({ from, limit: 1.5 }).message).toContain("limit must be an integer");
    expect(rejection({ from, limit: 10_001 }).message).toContain("at most 10000");
    expect(rejection({ from, limit: 1, limitToLast: 1 }).message).toContain("cannot both be given");
  });

  it("rejects bad orderBy, cursors, select and aggregate", () => {
    expect(rejection({ from, orderBy: [["a", "up"]] }).message).toContain('direction must be "asc" or "desc"');
    expect(rejection({ from, orderBy: "a" }).message).toContain("orderBy takes an array");
    expect(rejection({ from, startAt: 1 }).message).toContain("startAt takes an array");
    expect(rejection({ from, startAt: [] }).message).toContain("at least one value");
    expect(rejection({ from, startAt: [1], startAfter: [1] }).message).toContain("cannot both be given");
    expect(rejection({ from, endAt: [1], endBefore: [1] }).message).toContain("cannot both be given");
    expect(rejection({ from, select: "a" }).message).toContain("select takes an array");
    expect(rejection({ from, aggregate: { n: { median: "a" } } }).message).toContain('{"count": true}');
    expect(rejection({ from, aggregate: { n: { max: "a", min: "b" } } }).message).toContain("Unrecognized key");
    expect(rejection({ from, groupBy: ["a"] }).message).toContain("groupBy needs an aggregate");
    expect(rejection({ from, groupBy: [], aggregate: { n: { count: true } } }).message).toContain("at least one field");
    expect(rejection({ from, groupBy: "a", aggregate: { n: { count: true } } }).message).toContain("groupBy takes an array");
    const nine = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    expect(rejection({ from, groupBy: nine, aggregate: { n: { count: true } } }).message).toContain("at most 8 fields");
    expect(rejection({ from, aggregate: { n: { count: 1 } } }).message).toContain("count takes the value true");
    expect(rejection({ from, aggregate: {} }).message).toContain("at least one aggregation");
    const six = Object.fromEntries([1, 2, 3, 4, 5, 6].map((i) => [`n${i}`, { count: true }]));
    expect(rejection({ from, aggregate: six }).message).toContain("at most 5 aggregations");
    expect(rejection({ from, select: ["a"], aggregate: { n: { count: true } } }).message).toContain(
      "cannot both be given",
    );
    expect(rejection({ from, explain: "yes" }).message).toContain("explain must be a boolean");
    expect(rejection({ from, after: 3 }).message).toContain("after must be a write token string");
  });

  it("rejects unknown keys and bodies that are not objects", () => {
    expect(rejection({ from, wher: ["a", "==", 1] }).message).toContain('Unrecognized key: "wher"');
    for (const body of [null, [], "q", 3, undefined]) {
      expect(rejection(body).message).toContain("must be a JSON object");
    }
  });

  it("summarises many problems and lists them all in details", () => {
    const e = rejection({ from, limit: 0, orderBy: 1, startAt: 1, select: 1, explain: 1 });
    expect(e.message).toMatch(/and 2 more$/);
    expect((e.details as { issues: unknown[] }).issues).toHaveLength(5);
  });

  it("turns a body nested too deeply into INVALID_ARGUMENT", () => {
    let where: unknown = ["a", "==", 1];
    for (let i = 0; i < 100_000; i++) where = { and: [where] };
    rejection({ from, where });
  });
});
