/**
 * Group-by over HTTP, through the whole Worker: the answer's shape, paging,
 * the cap on groups, explain, the rules' filter, and what a listener refuses.
 * (test/group-by.differential.test.ts checks the values against the reference.)
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AuthContext } from "../engine/core/auth";
import { parseQuery } from "../engine/core/query/ast";
import { QUERY_LIMITS } from "../engine/core/query/limits";
import { commitWrites } from "../engine/shard/client";
import { callerQuery } from "../engine/http/access";
import { runQuery } from "../engine/query/executor";
import { queryDeps } from "../engine/http/routes/query";
import { api, seed } from "./helpers";
import { openListenSocket } from "./support/listen-socket";

const query = (body: Record<string, unknown>) => api("POST", "/v1/query", body);

describe("group-by over HTTP", () => {
  it("answers { groups } in key order with each group's aggregates", async () => {
    const after = await seed({
      "gbhttp/1": { city: "Rome", age: 30, at: { $timestamp: "2024-01-02T00:00:00Z" } },
      "gbhttp/2": { city: "Oslo", age: 20, at: { $timestamp: "2024-01-01T00:00:00Z" } },
      "gbhttp/3": { city: "Oslo", age: 41 },
      "gbhttp/4": { age: 99 },
    });
    const r = await query({
      from: { collection: "gbhttp" },
      groupBy: ["city"],
      aggregate: { n: { count: true }, total: { sum: "age" }, mean: { avg: "age" }, first: { min: "at" }, oldest: { max: "age" } },
      after,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({
      groups: [
        { key: ["Oslo"], aggregates: { n: 2, total: 61, mean: 30.5, first: { $timestamp: "2024-01-01T00:00:00.000000000Z" }, oldest: 41 } },
        { key: ["Rome"], aggregates: { n: 1, total: 30, mean: 30, first: { $timestamp: "2024-01-02T00:00:00.000000000Z" }, oldest: 30 } },
      ],
    });
    // Filters first; explain shows the grouping and the one GROUP BY statement per index shard.
    const filtered = await query({ from: { collection: "gbhttp" }, where: ["age", ">", 25], groupBy: ["city"], aggregate: { n: { count: true } }, explain: true });
    expect(filtered.body.groups).toEqual([{ key: ["Oslo"], aggregates: { n: 1 } }, { key: ["Rome"], aggregates: { n: 1 } }]);
    expect(filtered.body.explain.plan.groupBy).toEqual({ fields: ["city"], limit: null, startAfter: null });
    expect(filtered.body.explain.statements.map((s: { sql: string }) => s.sql).join("\n")).toContain("GROUP BY k0 ORDER BY k0");
  });

  it("groups a collection group, with and without sums (both ways of reading the scope)", async () => {
    const after = await seed({
      "gbg1/x/gbitems/a": { city: "Oslo", n: 1 },
      "gbg2/y/gbitems/b": { city: "Oslo", n: 2 },
      "gbg2/y/gbitems/c": { city: "Rome", n: 4 },
      "gbg2/y/other/d": { city: "Oslo", n: 8 },
    });
    const base = { from: { collectionGroup: "gbitems" }, groupBy: ["city"], after };
    expect((await query({ ...base, aggregate: { n: { count: true } } })).body.groups).toEqual([
      { key: ["Oslo"], aggregates: { n: 2 } },
      { key: ["Rome"], aggregates: { n: 1 } },
    ]);
    expect((await query({ ...base, aggregate: { s: { sum: "n" }, v: { avg: "n" } } })).body.groups).toEqual([
      { key: ["Oslo"], aggregates: { s: 3, v: 1.5 } },
      { key: ["Rome"], aggregates: { s: 4, v: 4 } },
    ]);
  });

  it("pages groups with limit and next.startAfter, and refuses more than the cap without a limit", async () => {
    const n = QUERY_LIMITS.maxGroups + 1;
    const after = await seed(Object.fromEntries(Array.from({ length: n }, (_, i) => [`gbcap/d${i}`, { i, even: i % 2 === 0 }])));
    const base = { from: { collection: "gbcap" }, groupBy: ["i"], aggregate: { n: { count: true } }, after };
    const all = await query(base);
    expect(all.status).toBe(429);
    expect(all.body.error.code).toBe("RESOURCE_EXHAUSTED");
    expect(all.body.error.message).toContain(`more than ${QUERY_LIMITS.maxGroups} groups`);

    const page1 = await query({ ...base, limit: QUERY_LIMITS.maxGroups });
    expect(page1.status).toBe(200);
    expect(page1.body.groups).toHaveLength(QUERY_LIMITS.maxGroups);
    expect(page1.body.next).toEqual({ startAfter: [QUERY_LIMITS.maxGroups - 1] });
    const page2 = await query({ ...base, limit: QUERY_LIMITS.maxGroups, ...page1.body.next });
    expect(page2.body).toEqual({ groups: [{ key: [QUERY_LIMITS.maxGroups], aggregates: { n: 1 } }] });

    // Few groups: no cap to hit.
    const two = await query({ ...base, groupBy: ["even"] });
    expect(two.body.groups).toEqual([
      { key: [false], aggregates: { n: 500 } },
      { key: [true], aggregates: { n: 501 } },
    ]);
    const over = await query({ ...base, limit: QUERY_LIMITS.maxGroups + 1 });
    expect(over.status).toBe(400);
    expect(over.body.error.message).toContain(`at most ${QUERY_LIMITS.maxGroups}`);
  }, 60_000);

  it("groups only the documents a list rule lets the caller see", async () => {
    const admin: AuthContext = { role: "admin", keyId: "test" };
    const { token } = await commitWrites(
      env,
      [
        { op: "set", path: "sec_tasks/gb1", data: { owner: "alice", status: "open" } },
        { op: "set", path: "sec_tasks/gb2", data: { owner: "alice", status: "done" } },
        { op: "set", path: "sec_tasks/gb3", data: { owner: "bob", status: "open" } },
      ],
      admin,
    );
    const alice: AuthContext = { role: "client", keyId: null, user: { uid: "alice", token: { sub: "alice" } } };
    const body = { from: { collection: "sec_tasks" }, groupBy: ["status"], aggregate: { n: { count: true } }, after: token };
    // The rule's filter is ANDed into where; groupBy passes through untouched.
    const nq = callerQuery(alice, parseQuery(body));
    expect(nq.groups?.by.map((f) => f.field)).toEqual(["status"]);
    expect(nq.dnf).toEqual([[expect.objectContaining({ field: "owner", op: "==", value: "alice" })]]);
    expect((await runQuery(queryDeps(env), nq)).groups).toEqual([
      { key: ["done"], aggregates: { n: 1 } },
      { key: ["open"], aggregates: { n: 1 } },
    ]);
    expect((await runQuery(queryDeps(env), callerQuery(admin, parseQuery(body)))).groups).toEqual([
      { key: ["done"], aggregates: { n: 1 } },
      { key: ["open"], aggregates: { n: 2 } },
    ]);
  });

  it("is refused by a query listener (group-by is not live)", async () => {
    const c = await openListenSocket();
    c.send({ op: "listen", id: "g", query: { from: { collection: "gbhttp" }, groupBy: ["city"], aggregate: { n: { count: true } } } });
    const [m] = await c.take("g");
    expect(m.error.code).toBe("INVALID_ARGUMENT");
    expect(m.error.message).toContain("groupBy");
    c.ws.close();
  });
});
