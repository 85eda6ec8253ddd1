/**
 * Big queries are paged or refused, never crashed: a query without `limit`
 * answers one page (1,000 documents) with `next` to continue; every answer
 * holds at most a byte budget of document data (scaled down here through
 * QueryDeps); a query whose SQL would pass D1's 100 KB statement limit is
 * INVALID_ARGUMENT.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { queryDeps } from "../engine/http/routes/query";
import { parseQuery, type QueryAst } from "../engine/core/query/ast";
import { normalizeQuery } from "../engine/core/query/normalize";
import { runQuery, waitForIndex, type PageContinuation } from "../engine/query/executor";
import type { DocumentData } from "../engine/core/values";
import { api, seed } from "./helpers";

const pad = (i: number) => String(i).padStart(4, "0");

/** Follows `next` until the end; returns every page's ids. */
async function allPages(body: Record<string, unknown>, deps: Partial<ReturnType<typeof queryDeps>>): Promise<string[][]> {
  const pages: string[][] = [];
  let q: Record<string, unknown> = body;
  for (let n = 0; n < 100; n++) {
    const r = await runQuery({ ...queryDeps(env), ...deps }, normalizeQuery(parseQuery(q)));
    pages.push(r.docs.map((d) => d.id));
    if (!r.next) return pages;
    q = continueWith(q, r.next);
  }
  throw new Error("paging did not end");
}

/** The body for the next page: the continuation replaces that side's cursor and the limit. */
function continueWith(body: Record<string, unknown>, next: PageContinuation): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body, ...next };
  if (next.startAfter) delete out.startAt;
  if (next.endBefore) delete out.endAt;
  return out;
}

describe("pages without a limit", () => {
  let after: string;
  beforeAll(async () => {
    const docs: Record<string, DocumentData> = {};
    for (let i = 0; i < 1205; i++) docs[`pages/p${pad(i)}`] = { i, even: i % 2 === 0 };
    after = await seed(docs);
  }, 60_000);

  it("answers 1,000 documents and a next cursor, then the rest", async () => {
    const first = await api("POST", "/v1/query", { from: { collection: "pages" }, orderBy: [["i", "asc"]], after });
    expect(first.status, JSON.stringify(first.body).slice(0, 300)).toBe(200);
    expect(first.body.docs).toHaveLength(1000);
    expect(first.body.next).toEqual({ startAfter: [999, { $ref: "pages/p0999" }] });
    const second = await api("POST", "/v1/query", { from: { collection: "pages" }, orderBy: [["i", "asc"]], ...first.body.next });
    expect(second.body.docs.map((d: { id: string }) => d.id)).toEqual(Array.from({ length: 205 }, (_, k) => `p${pad(1000 + k)}`));
    expect(second.body.next).toBeUndefined();
  });

  it("has no next when everything fits, and keeps an explicit limit whole", async () => {
    const r = await api("POST", "/v1/query", { from: { collection: "pages" }, where: ["i", "<", 10], after });
    expect(r.body.docs).toHaveLength(10);
    expect(r.body.next).toBeUndefined();
    const limited = await api("POST", "/v1/query", { from: { collection: "pages" }, limit: 1100, after });
    expect(limited.body.docs).toHaveLength(1100);
    expect(limited.body.next).toBeUndefined();
  });

  it("pages filtered and descending queries with a smaller page size, each document once", async () => {
    await waitForIndex(env.DB, after, 10_000);
    const pages = await allPages({ from: { collection: "pages" }, where: ["i", ">=", 600], orderBy: [["i", "desc"]] }, { pageSize: 100 });
    expect(pages.map((p) => p.length)).toEqual([100, 100, 100, 100, 100, 100, 5]);
    const expected = Array.from({ length: 605 }, (_, k) => `p${pad(1204 - k)}`);
    expect(pages.flat()).toEqual(expected);
  });
});

describe("the byte budget", () => {
  // About 3 KB each; the budget below holds three of them.
  const big = (i: number) => ({ n: i, blob: "x".repeat(3000 + i) });
  let after: string;
  beforeAll(async () => {
    const docs: Record<string, DocumentData> = {};
    for (let i = 0; i < 20; i++) docs[`events/b${pad(i)}`] = big(i); // "events" is split over two index shards
    after = await seed(docs);
    await waitForIndex(env.DB, after, 10_000);
  });
  const budget = { maxPageBytes: 10_000 };

  it("cuts a page at the budget, in order, across index shards, and continues", async () => {
    const body = { from: { collection: "events" }, where: ["n", ">=", 0], orderBy: [["n", "asc"]] };
    const pages = await allPages(body, budget);
    const evens = await allPages({ from: { collection: "pages" }, where: ["even", "==", true] }, { pageSize: 250 });
    expect(evens.map((p) => p.length)).toEqual([250, 250, 103]);
    expect(new Set(evens.flat()).size).toBe(603);
    expect(pages.every((p) => p.length === 3 || p === pages[pages.length - 1])).toBe(true);
    expect(pages.flat()).toEqual(Array.from({ length: 20 }, (_, i) => `b${pad(i)}`));
  });

  it("keeps the rest of a limit for the next page, also for limitToLast", async () => {
    const fwd = await runQuery({ ...queryDeps(env), ...budget }, normalizeQuery(parseQuery({ from: { collection: "events" }, where: ["n", ">=", 0], orderBy: [["n", "asc"]], limit: 5 } as QueryAst)));
    expect(fwd.docs.map((d) => d.id)).toEqual(["b0000", "b0001", "b0002"]);
    expect(fwd.next).toEqual({ startAfter: [2, { $ref: "events/b0002" }], limit: 2 });
    const body = { from: { collection: "events" }, where: ["n", ">=", 0], orderBy: [["n", "asc"]], limitToLast: 5 };
    const back = await runQuery({ ...queryDeps(env), ...budget }, normalizeQuery(parseQuery(body)));
    expect(back.docs.map((d) => d.id)).toEqual(["b0017", "b0018", "b0019"]);
    expect(back.next).toEqual({ endBefore: [17, { $ref: "events/b0017" }], limitToLast: 2 });
    const rest = await runQuery({ ...queryDeps(env), ...budget }, normalizeQuery(parseQuery({ ...body, ...back.next })));
    expect(rest.docs.map((d) => d.id)).toEqual(["b0015", "b0016"]);
    expect(rest.next).toBeUndefined();
  });

  it("always answers at least one document, even one larger than the budget", async () => {
    const r = await runQuery({ ...queryDeps(env), maxPageBytes: 100 }, normalizeQuery(parseQuery({ from: { collection: "events" }, orderBy: [["n", "asc"]] })));
    expect(r.docs.map((d) => d.id)).toEqual(["b0000"]);
    expect(r.next?.startAfter).toEqual([0, { $ref: "events/b0000" }]);
  });
});

describe("SQL over D1's statement limit", () => {
  it("is refused with INVALID_ARGUMENT, not a 500", async () => {
    // 90 long equality filters: past 100 bound parameters they are written into the SQL as hex.
    const where = { and: Array.from({ length: 90 }, (_, i) => [`f${i}`, "==", "v".repeat(10_000)]) };
    const r = await api("POST", "/v1/query", { from: { collection: "pages" }, where });
    expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(400);
    expect(r.body.error.code).toBe("INVALID_ARGUMENT");
    expect(r.body.error.message).toContain("bytes of SQL");
    expect(r.body.error.details.limit).toBe(100_000);
  });
});
