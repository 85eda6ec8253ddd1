/**
 * Differential property for group-by (and min/max): random documents go
 * through the real pipeline (POST /v1/batch → shard → outbox → queue →
 * consumer → D1), then random sets, updates and deletes on them; random
 * group-by queries through POST /v1/query must give what the reference
 * (engine/core/query/group-by.ts) gives over the documents as they stand,
 * group for group, in key order; a query with a limit is followed page by
 * page through `next` and the pages must add up to the whole answer.
 *
 * The collection id is "events", which the tests split over both index
 * shards (vitest.config.ts), so every answer is merged from two databases.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runGroupByInMemory, type GroupResult } from "../engine/core/query/group-by";
import { runQueryInMemory } from "../engine/core/query/evaluate";
import { parseQuery, type QueryAst } from "../engine/core/query/ast";
import { normalizeQuery, type GroupSpec, type NormalizedQuery } from "../engine/core/query/normalize";
import { numberOf, type DocumentData, type Value } from "../engine/core/values";
import { formatToken, mergeTokens, parseToken } from "../engine/core/tokens";
import { api } from "./helpers";

// Few values, so groups hold several documents; every type, so key order crosses types.
const VALUES: Value[] = [
  null,
  true,
  false,
  0,
  { $double: "-0" },
  1,
  1.5,
  2,
  -3,
  { $double: "NaN" },
  { $double: "Infinity" },
  "a",
  "b",
  "",
  { $timestamp: "2020-01-01T00:00:00.000000000Z" },
  { $bytes: "AAE=" },
  { $ref: "c/d1" },
  { $geo: { latitude: 1, longitude: 2 } },
  [1],
  [],
  { x: 1 },
];
const COMMON: Value[] = [1, 2, "a", "b", null, 1.5];
const valueArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...COMMON) }, { weight: 2, arbitrary: fc.constantFrom(...VALUES) });

const dataArb: fc.Arbitrary<DocumentData> = fc
  .record({ a: valueArb, b: valueArb, m: fc.oneof(fc.record({ x: valueArb }, { requiredKeys: [] }), valueArb) }, { requiredKeys: [] })
  .map((d) => d as DocumentData);

const IDS = Array.from({ length: 12 }, (_, i) => `d${i}`);

/** Writes after the first ones: a set (replace), an update of one field, or a delete. */
const editArb = fc.record({
  id: fc.constantFrom(...IDS),
  op: fc.constantFrom("set", "update", "delete"),
  data: dataArb,
  field: fc.constantFrom("a", "b"),
  value: valueArb,
});

const FIELDS = ["a", "b", "m.x"];
const whereArb = fc.oneof(
  fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom("==", "!=", "<", ">=", "in", "not-in"), valueArb, fc.array(valueArb, { minLength: 1, maxLength: 3 })).map(
    ([f, op, v, vs]) => [f, op, op === "in" || op === "not-in" ? vs : v],
  ),
  fc.tuple(fc.constantFrom(...FIELDS), valueArb, valueArb).map(([f, x, y]) => ({ or: [[f, "==", x], [f, "==", y]] })),
);

const AGGREGATES: QueryAst["aggregate"][] = [
  { n: { count: true } },
  { n: { count: true }, s: { sum: "a" }, v: { avg: "b" } },
  { lo: { min: "a" }, hi: { max: "b" } },
  { n: { count: true }, lo: { min: "m" }, hi: { max: "m.x" }, s: { sum: "m.x" } },
  { v: { avg: "a" }, hi: { max: "a" }, lo: { min: "b" }, s: { sum: "a" } },
];

const queryArb = fc.record(
  {
    groupBy: fc.uniqueArray(fc.constantFrom(...FIELDS, "m"), { minLength: 1, maxLength: 2 }),
    aggregate: fc.constantFrom(...AGGREGATES),
    where: fc.oneof({ weight: 1, arbitrary: whereArb }, { weight: 2, arbitrary: fc.constant(undefined) }),
    limit: fc.integer({ min: 1, max: 4 }),
    startAfter: fc.array(valueArb, { minLength: 1, maxLength: 2 }),
  },
  { requiredKeys: ["groupBy", "aggregate"] },
);

/** Equal aggregate values: numbers within rounding (sums add in another order), the rest exactly. */
function close(x: Value | undefined, y: Value | undefined): boolean {
  const [a, b] = [numberOf(x), numberOf(y)];
  if (a === undefined || b === undefined) return JSON.stringify(x) === JSON.stringify(y) || (expect(x).toEqual(y), true);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

function expectSameGroups(got: GroupResult[], want: GroupResult[], where: string) {
  expect(got.map((g) => g.key), where).toEqual(want.map((g) => g.key));
  got.forEach((g, i) => {
    for (const alias of Object.keys(want[i].aggregates)) {
      if (!close(g.aggregates[alias], want[i].aggregates[alias])) {
        expect.fail(`${where}: group ${JSON.stringify(g.key)} ${alias} = ${JSON.stringify(g.aggregates[alias])}, expected ${JSON.stringify(want[i].aggregates[alias])}`);
      }
    }
  });
}

let run = 0;
const stats = { queries: 0, groups: 0, pages: 0, invalid: 0 };

async function batch(writes: unknown[]): Promise<string> {
  const r = await api("POST", "/v1/batch", { writes });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return formatToken(mergeTokens(...r.body.results.map((x: { token: string }) => parseToken(x.token))));
}

async function groupsOf(ast: QueryAst, after: string): Promise<{ groups: GroupResult[]; next?: { startAfter: Value[] } }> {
  const r = await api("POST", "/v1/query", { ...ast, after, consistency: "eventual" });
  expect(r.status, `${JSON.stringify(ast)}: ${JSON.stringify(r.body)}`).toBe(200);
  return r.body;
}

describe("group-by vs the reference (property, through the pipeline)", () => {
  it("gives the reference's groups, keys and aggregates, over two index shards, with updates and deletes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.constantFrom(...IDS), dataArb), { selector: ([id]) => id, minLength: 6, maxLength: 12 }),
        fc.array(editArb, { maxLength: 6 }),
        fc.array(queryArb, { minLength: 6, maxLength: 6 }),
        async (initial, edits, queries) => {
          const collection = `gbruns/r${run++}/events`;
          const state = new Map<string, DocumentData>();
          for (const [id, data] of initial) state.set(id, data);
          let token = await batch([...state].map(([id, data]) => ({ op: "set", path: `${collection}/${id}`, data })));
          // Each edit is its own write, in order (a batch writes a path once).
          const tokens = [parseToken(token)];
          const write = async (w: unknown) => tokens.push(parseToken(await batch([w])));
          for (const e of edits) {
            const path = `${collection}/${e.id}`;
            if (e.op === "delete") {
              state.delete(e.id);
              await write({ op: "delete", path });
            } else if (e.op === "set" || !state.has(e.id)) {
              state.set(e.id, e.data);
              await write({ op: "set", path, data: e.data });
            } else {
              state.set(e.id, { ...state.get(e.id)!, [e.field]: e.value });
              await write({ op: "update", path, data: { [e.field]: e.value } });
            }
          }
          token = formatToken(mergeTokens(...tokens));
          const docs = [...state].map(([id, data]) => ({ path: `${collection}/${id}`, data }));

          for (const g of queries) {
            const ast = { from: { collection }, ...g } as QueryAst;
            if (ast.where === undefined) delete ast.where;
            let nq: NormalizedQuery;
            try {
              nq = normalizeQuery(parseQuery(ast));
            } catch {
              stats.invalid++;
              continue;
            }
            stats.queries++;
            const groups = nq.groups as GroupSpec;
            const want = runGroupByInMemory(docs, nq as NormalizedQuery & { groups: GroupSpec });
            const where = `query ${JSON.stringify(ast)} over ${JSON.stringify(docs)}`;
            stats.groups += runGroupByInMemory(docs, { ...nq, groups: { ...groups, limit: null } } as NormalizedQuery & { groups: GroupSpec }).length;
            const first = await groupsOf(ast, token);
            expectSameGroups(first.groups, want, where);
            if (groups.limit === null) {
              expect(first.next, where).toBeUndefined();
              continue;
            }
            // Page on through `next`: the pages together are the query without limit.
            const all = runGroupByInMemory(docs, { ...nq, groups: { ...groups, limit: null } } as NormalizedQuery & { groups: GroupSpec });
            const got = [...first.groups];
            let next = first.next;
            while (next) {
              stats.pages++;
              if (got.length > all.length) expect.fail(`${where}: paging returned more groups than there are`);
              const page = await groupsOf({ ...ast, startAfter: next.startAfter }, token);
              got.push(...page.groups);
              next = page.next;
            }
            expectSameGroups(got, all, `${where} (paged)`);
          }
        },
      ),
      { numRuns: 40 },
    );
    console.log(`group-by differential: ${JSON.stringify(stats)}`);
    expect(stats.queries).toBeGreaterThan(100);
    expect(stats.groups).toBeGreaterThan(300);
    expect(stats.pages).toBeGreaterThan(40);
  }, 180_000);

  it("min and max over a whole result agree with the reference", async () => {
    const collection = `gbruns/extremes/events`;
    const docs = VALUES.map((v, i) => ({ path: `${collection}/v${i}`, data: { v, w: i } as DocumentData }));
    const token = await batch(docs.map((d) => ({ op: "set", path: d.path, data: d.data })));
    for (const where of [undefined, ["w", ">=", 10], ["v", "!=", null]]) {
      const ast = { from: { collection }, ...(where ? { where } : {}), aggregate: { lo: { min: "v" }, hi: { max: "v" }, n: { count: true } } } as QueryAst;
      const want = runQueryInMemory(docs, normalizeQuery(parseQuery(ast))).aggregates;
      const r = await api("POST", "/v1/query", { ...ast, after: token });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.aggregates).toEqual(want);
    }
    // Under a limit the window is read (the limit counts documents, not groups).
    const limited = { from: { collection }, orderBy: [["w", "desc"]], limit: 3, aggregate: { lo: { min: "v" } } } as QueryAst;
    const r = await api("POST", "/v1/query", { ...limited, after: token });
    expect(r.body.aggregates).toEqual(runQueryInMemory(docs, normalizeQuery(parseQuery(limited))).aggregates);
  });
});
