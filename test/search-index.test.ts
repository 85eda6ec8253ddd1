/**
 * Full-text search indexes in D1 (engine/index/search.ts): whatever order and
 * duplication the queue delivers changes in, through the consumer's queue
 * handler (consumeBatch), each search index's FTS5 rows equal the documents'
 * current text; an index declared later is backfilled; a removed one is
 * dropped (its table and mapping rows go).
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import { getField, parseFieldPath } from "../engine/core/field-path";
import { parseDocumentPath } from "../engine/core/paths";
import { searchableText } from "../engine/core/query/text-search";
import type { DocumentData } from "../engine/core/values";
import type { Change } from "../engine/core/writes";
import { backfillStep } from "../engine/index/backfill";
import { ensureIndexBuilds } from "../engine/index/builds";
import { parseIndexConfig } from "../engine/index/config";
import { EMPTY_INDEX_CONFIG, type IndexConfig, type SearchIndex } from "../engine/index/config-types";
import { consumeBatch } from "../engine/pipeline/consumer";
import { packMessages, type ChangeMessage } from "../engine/pipeline/messages";
import { changeLogs, shuffledDeliveries, type ChangeOp } from "./support/change-logs";
import { localConsumerDeps } from "./support/consumer-deps";
import { parseQuery } from "../engine/core/query/ast";
import { normalizeQuery } from "../engine/core/query/normalize";
import { parseTopology } from "../engine/index/routing";
import { runQuery } from "../engine/query/executor";
import { resolveSearch } from "../engine/query/search-index-match";

const SHARD = 4001;
const PATHS = ["notes/a", "notes/b", "notes/c", "u/x/notes/d", "other/e"];
const DEFINITION = {
  searchIndexes: [
    { collectionGroup: "notes", fields: ["title", "body.text"] },
    { collectionGroup: "notes", queryScope: "COLLECTION_GROUP", fields: ["tags"], tokenizer: "trigram" },
  ],
};
/** A fresh config object each time: the consumer declares each config object once per isolate. */
const withSearch = () => parseIndexConfig(DEFINITION);

const WORDS = ["Café", "cafe", "naïve", "quick", "brown", "fox", "ÉTÉ", "été", "lazy", "dog"];
const textArb = fc.array(fc.constantFrom(...WORDS), { maxLength: 4 }).map((w) => w.join(" "));
const dataArb: fc.Arbitrary<DocumentData> = fc.record(
  { title: fc.oneof(textArb, fc.integer()), body: fc.record({ text: textArb }), tags: fc.array(textArb, { maxLength: 2 }) },
  { requiredKeys: [] },
);
const opArb = fc.record({ path: fc.constantFrom(...PATHS), del: fc.boolean(), data: dataArb });

/** Ops as one shard's change log. */
const buildLog = (ops: ChangeOp[]): Change[] => changeLogs(ops, [SHARD]).get(SHARD) ?? [];

async function deliver(config: IndexConfig, messages: ChangeMessage[]) {
  const batch = createMessageBatch<unknown>("blaze-changes", messages.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body })));
  const outcome = await consumeBatch(batch, localConsumerDeps(config));
  await getQueueResult(batch, createExecutionContext());
  expect(outcome.retried).toBe(0);
}

/** What an index's FTS table holds: "path|seq|f0|f1..." per row, joined through search_rows. */
async function ftsRows(index: SearchIndex): Promise<string[]> {
  const table = `search_${index.id.slice(3)}`;
  const cols = index.fields.map((_, i) => `s.f${i}`).join(", ");
  const rows = await env.DB.prepare(`SELECT r.path, r.seq, ${cols} FROM ${table} s JOIN search_rows r ON r.id = s.rowid ORDER BY r.path`).raw();
  // No FTS row without its mapping row, and the other way round.
  const [{ n }] = (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).all<{ n: number }>()).results;
  const [{ m }] = (await env.DB.prepare(`SELECT COUNT(*) AS m FROM search_rows WHERE index_id = ?`).bind(index.id).all<{ m: number }>()).results;
  expect(n).toBe(rows.length);
  expect(m).toBe(rows.length);
  return rows.map((r) => r.join("|"));
}

function expectedRows(index: SearchIndex, docs: Map<string, { seq: number; data: DocumentData }>): string[] {
  return [...docs]
    .filter(([path]) => parseDocumentPath(path).collectionId === index.collectionGroup)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([path, d]) => [path, d.seq, ...index.fields.map((f) => searchableText(getField(d.data, parseFieldPath(f))))].join("|"));
}

function finalDocs(log: Change[]) {
  const out = new Map<string, { seq: number; data: DocumentData }>();
  for (const c of log) {
    if (c.op === "set") out.set(c.path, { seq: c.seq, data: c.data as DocumentData });
    else out.delete(c.path);
  }
  return out;
}

async function searchTableExists(index: SearchIndex): Promise<boolean> {
  const r = await env.DB.prepare(`SELECT 1 FROM sqlite_master WHERE name = ?`).bind(`search_${index.id.slice(3)}`).all();
  return r.results.length > 0;
}

beforeEach(async () => {
  await env.DB.batch(
    ["documents", "tombstones", "index_entries", "composite_entries", "index_builds", "watermarks", "applied_ranges", "search_rows", "index_config"].map(
      (t) => env.DB.prepare(`DELETE FROM ${t}`),
    ),
  );
  for (const index of withSearch().searchIndexes!) await env.DB.prepare(`DROP TABLE IF EXISTS search_${index.id.slice(3)}`).run();
});

describe("search index maintenance", () => {
  it("any order and duplication of deliveries leaves the FTS rows equal to the documents (insert, update, delete, redelivery)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 4 }), fc.infiniteStream(fc.nat()), async (ops, per, rand) => {
        await env.DB.batch(["documents", "tombstones", "index_entries", "watermarks", "applied_ranges", "search_rows"].map((t) => env.DB.prepare(`DELETE FROM ${t}`)));
        const config = withSearch();
        for (const index of config.searchIndexes!) await env.DB.prepare(`DELETE FROM search_${index.id.slice(3)}`).run().catch(() => undefined);
        const log = buildLog(ops);
        // The queue handler declares the config (creating the FTS5 tables) even when every op is a no-op delete.
        await deliver(config, []);
        const messages = packMessages(SHARD, log, { maxBytes: 100_000, maxChanges: per, maxInline: 50_000 }).map((p) => p.message);
        const it = rand[Symbol.iterator]();
        const deliveries = shuffledDeliveries(messages, it);
        while (deliveries.length > 0) await deliver(config, deliveries.splice(0, 1 + (it.next().value % 3)));
        const want = finalDocs(log);
        for (const index of config.searchIndexes!) expect(await ftsRows(index)).toEqual(expectedRows(index, want));
      }),
      { numRuns: 40 },
    );
  });

  it("an older change delivered after a newer one leaves the newer text (version check)", async () => {
    const config = withSearch();
    const [byText] = config.searchIndexes!;
    const log = buildLog([
      { path: "notes/a", del: false, data: { title: "old words" } },
      { path: "notes/a", del: false, data: { title: "new words" } },
      { path: "notes/b", del: false, data: { title: "gone soon" } },
      { path: "notes/b", del: true, data: {} },
    ]);
    const messages = packMessages(SHARD, log, { maxBytes: 100_000, maxChanges: 1, maxInline: 50_000 }).map((p) => p.message);
    await deliver(config, [messages[1], messages[3]]);
    await deliver(config, [messages[0], messages[2]]);
    expect(await ftsRows(byText)).toEqual(["notes/a|2|new words|"]);
    const match = await env.DB.prepare(`SELECT rowid FROM search_${byText.id.slice(3)} WHERE search_${byText.id.slice(3)} MATCH 'old'`).all();
    expect(match.results).toEqual([]);
  });

  it("backfills an index declared after its documents, and drops it when removed", async () => {
    const log = buildLog(
      Array.from({ length: 23 }, (_, i) => ({ path: `notes/n${String(i).padStart(2, "0")}`, del: false, data: { title: `${WORDS[i % WORDS.length]} ${i}`, tags: [`tag${i % 3}`] } })),
    );
    await deliver(EMPTY_INDEX_CONFIG, packMessages(SHARD, log).map((p) => p.message));
    const config = withSearch();
    // The queue handler declares the builds: tables created, builds pending.
    await deliver(config, []);
    expect((await ensureIndexBuilds(env.DB, config)).pending).toBe(true);
    for (const index of config.searchIndexes!) expect(await ftsRows(index)).toEqual([]);
    let steps = 0;
    while (!(await backfillStep(env.DB, config, 5)).done) if (++steps > 100) throw new Error("backfill does not finish");
    expect(steps).toBeGreaterThan(3);
    const want = finalDocs(log);
    for (const index of config.searchIndexes!) expect(await ftsRows(index)).toEqual(expectedRows(index, want));
    const states = await env.DB.prepare(`SELECT state FROM index_builds WHERE index_id LIKE 'si_%'`).all<{ state: string }>();
    expect(states.results.map((r) => r.state)).toEqual(["ready", "ready"]);

    // Removed from the config: dropping, then gone (table and mapping rows).
    const without = parseIndexConfig({ searchIndexes: [DEFINITION.searchIndexes[0]] });
    expect((await ensureIndexBuilds(env.DB, without)).pending).toBe(true);
    while (!(await backfillStep(env.DB, without, 5)).done) if (++steps > 200) throw new Error("drop does not finish");
    const [kept, dropped] = config.searchIndexes!;
    expect(await searchTableExists(dropped)).toBe(false);
    expect(await searchTableExists(kept)).toBe(true);
    const left = await env.DB.prepare(`SELECT COUNT(*) AS n FROM search_rows WHERE index_id = ?`).bind(dropped.id).all<{ n: number }>();
    expect(left.results[0].n).toBe(0);
    expect(await ftsRows(kept)).toEqual(expectedRows(kept, want));
  });

  it("answers the SQL docs/analytics.md shows on the FTS5 tables", async () => {
    const config = withSearch();
    const [byText] = config.searchIndexes!;
    const log = buildLog([
      { path: "notes/a", del: false, data: { title: "Deploy the release", priority: 2 } },
      { path: "u/x/notes/b", del: false, data: { title: "deployment notes", priority: 4 } },
      { path: "notes/c", del: false, data: { title: "release party" } },
    ]);
    await deliver(config, packMessages(SHARD, log).map((p) => p.message));
    const T = `search_${byText.id.slice(3)}`;
    const tables = await env.DB.prepare(`SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE search%'`).all<{ name: string }>();
    expect(tables.results.map((r) => r.name)).toContain(T);
    const best = await env.DB.prepare(
      `SELECT r.path, highlight(${T}, 0, '[', ']') AS title, bm25(${T}) AS rank FROM ${T} JOIN search_rows r ON r.id = ${T}.rowid WHERE ${T} MATCH 'depl*' ORDER BY rank LIMIT 10`,
    ).all<{ path: string; title: string }>();
    expect(best.results.map((r) => [r.path, r.title]).sort()).toEqual([["notes/a", "[Deploy] the release"], ["u/x/notes/b", "[deployment] notes"]]);
    const per = await env.DB.prepare(
      `SELECT d.collection_path, COUNT(*) AS n, AVG(json_extract(d.data, '$.priority')) AS priority FROM ${T} JOIN search_rows r ON r.id = ${T}.rowid JOIN documents d ON d.path = r.path WHERE ${T} MATCH 'release' GROUP BY d.collection_path`,
    ).all();
    expect(per.results).toEqual([{ collection_path: "notes", n: 2, priority: 2 }]);
  });

  it("answers a search that comes before any consumer declared the index (no FTS5 table yet): nothing, not an error", async () => {
    const config = parseIndexConfig({ searchIndexes: [{ collectionGroup: "fresh_search", fields: ["title"] }] });
    expect(await searchTableExists(config.searchIndexes![0])).toBe(false);
    const deps = { dbs: [env.DB], topology: parseTopology({ INDEX_SHARDS: "DB" }), config, meta: env.DB };
    const nq = normalizeQuery(parseQuery(resolveSearch({ from: { collection: "fresh_search" }, search: { text: "anything" } }, config)));
    expect((await runQuery(deps, nq)).docs).toEqual([]);
    expect(await searchTableExists(config.searchIndexes![0])).toBe(true);
  });
});
