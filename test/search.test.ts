/**
 * POST /v1/query with "search" through the real Worker, queue and D1, on
 * the search index blaze.indexes.json declares (tasks: title): relevance
 * order, modes, filters, orderBy with cursors, explain, the errors, and the
 * list rules ANDed in (test/fixtures/test.rules.ts guards sec_boards/{b}/tasks).
 */
import { describe, expect, it } from "vitest";
import { adminHeaders, api, seed } from "./helpers";
import { testJwt } from "./support/jwt";

const query = (body: Record<string, unknown>, headers: Record<string, string> = {}) => api("POST", "/v1/query", body, headers);
const ids = (r: { body: { docs: { id: string }[] } }) => r.body.docs.map((d) => d.id);

describe("search queries", () => {
  it("answers the matches, best first (bm25), combined with filters", async () => {
    const c = "srch_rel/b/tasks";
    const after = await seed({
      [`${c}/long`]: { title: "apple banana cherry date elderberry fig grape", status: "open", priority: 1 },
      [`${c}/short`]: { title: "apple pie", status: "open", priority: 2 },
      [`${c}/twice`]: { title: "Apple, apple!", status: "done", priority: 3 },
      [`${c}/none`]: { title: "banana split", status: "open", priority: 4 },
      [`${c}/notext`]: { title: 42, status: "open", priority: 5 },
    });
    const r = await query({ from: { collection: c }, search: { text: "APPLE" }, after });
    expect(r.status).toBe(200);
    expect(ids(r)).toEqual(["twice", "short", "long"]);
    const open = await query({ from: { collection: c }, search: { text: "apple" }, where: ["status", "==", "open"], after });
    expect(ids(open)).toEqual(["short", "long"]);
    expect(ids(await query({ from: { collection: c }, search: { text: "apple" }, limit: 1, after }))).toEqual(["twice"]);
    // Every word must match; a text with no word matches nothing.
    expect(ids(await query({ from: { collection: c }, search: { text: "apple banana" }, after }))).toEqual(["long"]);
    expect(ids(await query({ from: { collection: c }, search: { text: " ,!? " }, after }))).toEqual([]);
    // Counting works on the matches too.
    const n = await query({ from: { collection: c }, search: { text: "apple" }, aggregate: { n: { count: true } }, after });
    expect(n.body.aggregates).toEqual({ n: 3 });
  });

  it("matches words, phrases and prefixes, case and diacritics folded", async () => {
    const c = "srch_modes/b/tasks";
    const after = await seed({
      [`${c}/a`]: { title: "Crème brûlée recipe" },
      [`${c}/b`]: { title: "recipe for creme" },
      [`${c}/c`]: { title: "creamy soup" },
    });
    const run = async (text: string, mode?: string) => ids(await query({ from: { collection: c }, search: { text, ...(mode ? { mode } : {}) }, orderBy: [["__name__"]], after })).sort();
    expect(await run("creme recipe")).toEqual(["a", "b"]);
    expect(await run("creme recipe", "phrase")).toEqual([]);
    expect(await run("brulee recipe", "phrase")).toEqual(["a"]);
    expect(await run("cre", "prefix")).toEqual(["a", "b", "c"]);
    expect(await run("cre")).toEqual([]);
  });

  it("orders by an orderBy instead, and pages with cursors", async () => {
    const c = "srch_order/b/tasks";
    const docs: Record<string, { title: string; priority: number }> = {};
    for (let i = 0; i < 7; i++) docs[`${c}/t${i}`] = { title: i % 2 ? "fix the bug" : "fix the docs", priority: i };
    const after = await seed(docs);
    const base = { from: { collection: c }, search: { text: "fix" }, orderBy: [["priority", "desc"]], limit: 3, after };
    const page1 = await query(base);
    expect(ids(page1)).toEqual(["t6", "t5", "t4"]);
    const page2 = await query({ ...base, startAfter: [4] });
    expect(ids(page2)).toEqual(["t3", "t2", "t1"]);
    const bugs = await query({ ...base, search: { text: "bug" }, limit: 10 });
    expect(ids(bugs)).toEqual(["t5", "t3", "t1"]);
  });

  it("explains the plan: the search index, its table and the MATCH expression", async () => {
    const c = "srch_explain/b/tasks";
    const after = await seed({ [`${c}/a`]: { title: "hello world", status: "open" } });
    const r = await query({ from: { collection: c }, search: { text: "hello wor", mode: "prefix" }, where: ["status", "==", "open"], explain: true, after });
    expect(r.status).toBe(200);
    expect(r.body.explain.plan.search).toMatchObject({
      index: { fields: ["title"], tokenizer: "unicode61" },
      table: expect.stringMatching(/^search_[0-9a-f]{16}$/),
      match: '"hello"* AND "wor"*',
      order: "relevance (bm25)",
    });
    expect(r.body.explain.plan.disjunctions[0]).toMatchObject({ rule: "search", scans: [{ index: "search" }], residual: [{ field: "status" }] });
    expect(r.body.explain.statements[0].sql).toMatch(/MATCH/);
  });

  it.each([
    [{ search: { text: "x", fields: ["notes"] } }, "FAILED_PRECONDITION", /searchIndexes.*"fields":\["notes"\]/],
    [{ search: { text: "x" }, startAfter: ["a"] }, "INVALID_ARGUMENT", /startAfter needs an orderBy on a search: results in relevance order have no stable position/],
    [{ search: { text: "x", mode: "fuzzy" } }, "INVALID_ARGUMENT", /search.mode must be "words", "phrase" or "prefix"/],
    [{ search: { text: "x", tokenizer: "trigram" } }, "FAILED_PRECONDITION", /with the trigram tokenizer/],
    [{ search: { text: "x" }, aggregate: { m: { max: "priority" } } }, "INVALID_ARGUMENT", /min and max aggregations cannot be combined with search/],
    [{ search: { text: "x" }, groupBy: ["status"], aggregate: { n: { count: true } } }, "INVALID_ARGUMENT", /search cannot be combined with groupBy/],
    [{ search: { text: "x".repeat(1001) } }, "INVALID_ARGUMENT", /at most 1000 characters/],
  ])("refuses %j", async (extra, code, message) => {
    const r = await query({ from: { collection: "srch_err/b/tasks" }, ...extra });
    expect(r.body.error?.code).toBe(code);
    expect(r.body.error.message).toMatch(message);
  });

  it("refuses a search on a collection without a search index, naming the entry to add", async () => {
    const r = await query({ from: { collectionGroup: "notes_nosearch" }, search: { text: "x" } });
    expect(r.body.error).toMatchObject({ code: "FAILED_PRECONDITION" });
    expect(r.body.error.message).toContain('add to "searchIndexes" in blaze.indexes.json: {"collectionGroup":"notes_nosearch","queryScope":"COLLECTION_GROUP","fields":["<field>"]}');
  });

  it("goes through the caller's list rule: a user finds only what it may list", async () => {
    const c = "sec_boards/b1/tasks";
    const writes = [
      { op: "set", path: `${c}/a1`, data: { title: "launch plan", owner: "alice" } },
      { op: "set", path: `${c}/b1`, data: { title: "launch party", owner: "bob" } },
    ];
    expect((await api("POST", "/v1/batch", { writes }, await adminHeaders())).status).toBe(200);
    const after = undefined; // queries are strongly consistent by default: they see the batch
    const alice = { Authorization: `Bearer ${await testJwt("alice")}` };
    const r = await query({ from: { collection: c }, search: { text: "launch" }, after }, alice);
    expect(r.status).toBe(200);
    expect(ids(r)).toEqual(["a1"]);
    expect((await query({ from: { collection: c }, search: { text: "party" }, after }, alice)).body.docs).toEqual([]);
  });
});
