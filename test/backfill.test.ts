/**
 * Composite index backfill against the real D1: documents exist, an index is
 * then declared, and the backfill (stepped directly, or driven by backfill
 * messages through the consumer's queue handler) writes exactly the entries
 * the consumer would have written, never overwriting a newer change.
 * The queue is simulated here: the real one would also reach the Worker's own
 * consumer, whose config (blaze.indexes.json) does not declare these indexes.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { BlazeError } from "../engine/core/errors";
import { parseDocumentPath } from "../engine/core/paths";
import type { DocumentData } from "../engine/core/values";
import type { Change } from "../engine/core/writes";
import { compositeRowsFor } from "../engine/index/apply";
import { backfillStep } from "../engine/index/backfill";
import { assertIndexReady, ensureIndexBuilds, indexReady } from "../engine/index/builds";
import { indexesFor, parseIndexConfig } from "../engine/index/config";
import { EMPTY_INDEX_CONFIG, type IndexConfig } from "../engine/index/config-types";
import { parseTopology } from "../engine/index/routing";
import { applyMessages, consumeBatch, type ConsumerDeps } from "../engine/pipeline/consumer";
import { BACKFILL_STALL_MS, superviseIndexBuilds } from "../engine/pipeline/backfill";
import { BACKFILL_MESSAGE, packMessages, type ChangeMessage } from "../engine/pipeline/messages";
import { parseQuery } from "../engine/core/query/ast";
import { runQuery } from "../engine/query/executor";
import { normalizeQuery } from "../engine/core/query/normalize";

const SHARD = 3001;
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("").toUpperCase();

const DEFINITION = {
  indexes: [
    { collectionGroup: "bf", queryScope: "COLLECTION", fields: [{ fieldPath: "a", order: "ASCENDING" }, { fieldPath: "b", order: "DESCENDING" }] },
    { collectionGroup: "bf", queryScope: "COLLECTION_GROUP", fields: [{ fieldPath: "tags", arrayConfig: "CONTAINS" }, { fieldPath: "a", order: "DESCENDING" }] },
  ],
  fieldOverrides: [],
};
/** A fresh config object each time: the consumer declares each config object once per isolate. */
const withIndexes = () => parseIndexConfig(DEFINITION);

let seq = 0;
const docs = new Map<string, { seq: number; data: DocumentData } | null>();

/** One index database, or both with collection "bf" split across them by document hash. */
let split = false;

function deps(config: IndexConfig, sent: unknown[] = []): ConsumerDeps {
  return {
    topology: split ? parseTopology({ INDEX_SHARDS: "DB,DB2", INDEX_SPLIT_COLLECTIONS: "bf" }) : parseTopology({ INDEX_SHARDS: "DB" }),
    dbs: split ? [env.DB, env.DB2] : [env.DB],
    indexConfig: config,
    fetchChange: async () => {
      throw new Error("no by-reference changes here");
    },
    notifyShard: async () => undefined,
    requestBackfill: async () => {
      sent.push(BACKFILL_MESSAGE);
    },
  };
}

function change(path: string, data: DocumentData | null): Change {
  seq++;
  const t = new Date(1_700_000_000_000 + seq).toISOString();
  docs.set(path, data ? { seq, data } : null);
  return data
    ? { shard: SHARD, seq, path, op: "set", version: seq, data, createTime: t, updateTime: t, existed: false }
    : { shard: SHARD, seq, path, op: "delete", version: seq, updateTime: t, existed: true };
}

function messagesOf(changes: Change[]): ChangeMessage[] {
  return packMessages(SHARD, changes).map((p) => p.message);
}

/**
 * Writes documents through the consumer, with a config that may not declare
 * the indexes yet; each call as a consumer isolate that starts then (a copy
 * of the config), which takes the index over for its config.
 */
async function write(config: IndexConfig, entries: [string, DocumentData | null][]) {
  await applyMessages(messagesOf(entries.map(([p, d]) => change(p, d))), deps({ ...config }));
}

async function seed(n: number) {
  const entries: [string, DocumentData | null][] = [];
  for (let i = 0; i < n; i++) {
    const id = `d${String(i).padStart(2, "0")}`;
    const tags = i % 4 === 0 ? [] : ["x", i % 2 ? "y" : "x", `t${i % 3}`];
    entries.push([`bf/${id}`, { a: i % 5, b: `s${i}`, tags }]);
    if (i % 3 === 0) entries.push([`u/${id}/bf/sub`, { a: i, b: 1, tags: ["z"] }]);
    if (i % 7 === 0) entries.push([`bf/${id}x`, { a: i }]); // misses b and tags: no entries
  }
  entries.push(["other/o1", { a: 1, b: 2, tags: ["x"] }]);
  await write(EMPTY_INDEX_CONFIG, entries);
}

async function compositeRows() {
  const out: string[] = [];
  for (const db of split ? [env.DB, env.DB2] : [env.DB]) {
    const r = await db.prepare(`SELECT index_id, scope, hex(key) AS k, doc_path, seq FROM composite_entries`).all<any>();
    out.push(...r.results.map((x) => `${x.index_id}|${x.scope}|${x.k}|${x.doc_path}|${x.seq}`));
  }
  return out.sort();
}

function expectedRows(config: IndexConfig) {
  const out: string[] = [];
  for (const [path, d] of docs) {
    if (!d) continue;
    const rows = compositeRowsFor(indexesFor(config, parseDocumentPath(path).collectionId), { path, seq: d.seq, data: d.data });
    for (const [id, scope, key, p, s] of rows) out.push(`${id}|${scope}|${hex(key)}|${p}|${s}`);
  }
  return out.sort();
}

async function buildStates() {
  const r = await env.DB.prepare(`SELECT index_id, state FROM index_builds ORDER BY index_id`).all<{ index_id: string; state: string }>();
  return Object.fromEntries(r.results.map((x) => [x.index_id, x.state]));
}

async function stepToEnd(config: IndexConfig, maxDocs: number, db: D1Database = env.DB) {
  let steps = 0;
  for (;;) {
    steps++;
    const p = await backfillStep(db, config, maxDocs);
    if (p.done) return steps;
    if (steps > 1000) throw new Error("backfill does not finish");
  }
}

beforeEach(async () => {
  for (const db of [env.DB, env.DB2]) {
    await db.batch(
      ["documents", "tombstones", "index_entries", "composite_entries", "index_builds", "watermarks", "applied_ranges"].map((t) =>
        db.prepare(`DELETE FROM ${t}`),
      ),
    );
  }
  docs.clear();
  split = false;
});

describe("composite index backfill", () => {
  it("builds an index declared after its documents, step by step", async () => {
    await seed(23);
    const config = withIndexes();
    expect(await compositeRows()).toEqual([]);
    expect((await ensureIndexBuilds(env.DB, config)).pending).toBe(true);
    const [byA, byTag] = config.indexes;
    expect(await buildStates()).toEqual({ [byA.id]: "building", [byTag.id]: "building" });
    expect(await indexReady(env.DB, byA.id)).toBe(false);
    expect(await indexReady(env.DB, byA)).toBe(false);
    await expect(assertIndexReady(env.DB, byTag)).rejects.toMatchObject({ code: "FAILED_PRECONDITION", message: expect.stringMatching(/index is building/) });

    const steps = await stepToEnd(config, 4);
    expect(steps).toBeGreaterThan(10);
    expect(await compositeRows()).toEqual(expectedRows(config));
    expect((await compositeRows()).length).toBeGreaterThan(30);
    expect(await buildStates()).toEqual({ [byA.id]: "ready", [byTag.id]: "ready" });
    expect(await indexReady(env.DB, byA.id)).toBe(true);
    await assertIndexReady(env.DB, byTag);
    // Declaring again changes nothing.
    expect((await ensureIndexBuilds(env.DB, withIndexes())).pending).toBe(false);
  });

  it("marks an index ready at once when its collection has no documents yet", async () => {
    await write(EMPTY_INDEX_CONFIG, [["other/o1", { a: 1, b: 2 }]]);
    const config = withIndexes();
    expect(await indexReady(env.DB, config.indexes[0].id)).toBe(false); // not declared here yet
    expect(await indexReady(env.DB, config.indexes[0])).toBe(true); // but nothing can be missing
    expect((await ensureIndexBuilds(env.DB, config)).pending).toBe(false);
    expect(Object.values(await buildStates())).toEqual(["ready", "ready"]);
    // The consumer maintains it from the first document on.
    await write(config, [["bf/new", { a: 1, b: 2, tags: ["q"] }]]);
    expect(await compositeRows()).toEqual(expectedRows(config));
    expect((await compositeRows()).length).toBe(2);
  });

  it("never overwrites a newer change that lands while it runs (seq guard)", async () => {
    for (const newer of [{ a: 9, b: "new", tags: ["n"] }, { b: "no a any more" }, null] as (DocumentData | null)[]) {
      await env.DB.batch(["documents", "tombstones", "composite_entries", "index_builds"].map((t) => env.DB.prepare(`DELETE FROM ${t}`)));
      docs.clear();
      await write(EMPTY_INDEX_CONFIG, [["bf/race", { a: 1, b: "old", tags: ["o"] }], ["bf/calm", { a: 2, b: "c", tags: ["c"] }]]);
      const config = withIndexes();
      await ensureIndexBuilds(env.DB, config);
      // The backfill reads the old version; the newer change commits before the backfill writes.
      let raced = false;
      const racing = new Proxy(env.DB, {
        get(target, prop) {
          if (prop === "batch") {
            return async (stmts: D1PreparedStatement[]) => {
              if (!raced) {
                raced = true;
                await write(config, [["bf/race", newer]]);
              }
              return target.batch(stmts);
            };
          }
          const v = (target as any)[prop];
          return typeof v === "function" ? v.bind(target) : v;
        },
      }) as D1Database;
      await stepToEnd(config, 10, racing);
      expect(raced).toBe(true);
      const rows = await compositeRows();
      expect(rows).toEqual(expectedRows(config));
      expect(rows.filter((r) => r.includes("|bf/race|")).every((r) => r.endsWith(`|${seq}`))).toBe(true);
      expect(rows.some((r) => r.includes("|bf/calm|"))).toBe(true);
    }
  });

  it("runs from the queue: the consumer declares the index and backfill messages go around until it is built", async () => {
    split = true; // both index databases hold documents of "bf"
    await seed(17);
    for (const db of [env.DB, env.DB2]) {
      const n = await db.prepare(`SELECT COUNT(*) AS n FROM documents WHERE collection_id = 'bf'`).first<{ n: number }>();
      expect(n?.n).toBeGreaterThan(3);
    }
    const config = withIndexes();
    const sent: unknown[] = [];
    const d = { ...deps(config, sent), backfillDocsPerMessage: 5 };
    // A change batch starts it (the consumer declares its config once per isolate).
    const first = createMessageBatch<unknown>("blaze-changes", [
      { id: "c1", timestamp: new Date(), attempts: 1, body: messagesOf([change("bf/zz", { a: 0, b: "z", tags: ["z"] })])[0] },
    ]);
    await consumeBatch(first, d);
    expect(sent).toEqual([BACKFILL_MESSAGE]);
    let rounds = 0;
    while (sent.length > 0) {
      rounds++;
      const batch = createMessageBatch<unknown>(
        "blaze-changes",
        sent.splice(0).map((body, i) => ({ id: `b${rounds}-${i}`, timestamp: new Date(), attempts: 1, body })),
      );
      const ctx = createExecutionContext();
      const outcome = await consumeBatch(batch, d);
      const result = await getQueueResult(batch, ctx);
      expect(outcome.rejected).toBe(0);
      expect(result.explicitAcks).toEqual([`b${rounds}-0`]);
      if (rounds > 100) throw new Error("backfill messages do not stop");
    }
    expect(rounds).toBeGreaterThan(3);
    expect(await compositeRows()).toEqual(expectedRows(config));
    expect(Object.values(await buildStates())).toEqual(["ready", "ready"]);
    const onDb2 = await env.DB2.prepare(`SELECT state FROM index_builds`).all<{ state: string }>();
    expect(onDb2.results.map((r) => r.state)).toEqual(["ready", "ready"]);
    // Declared once per isolate: another batch does not start another round.
    await consumeBatch(createMessageBatch<unknown>("blaze-changes", []), d);
    expect(sent).toEqual([]);
  });

  it("sends the backfill message again when the builds make no progress (the message was lost)", async () => {
    await seed(5);
    const config = withIndexes();
    const sent: unknown[] = [];
    const d = deps(config, sent);
    const t0 = Date.now();
    await superviseIndexBuilds(d, t0);
    expect(sent).toEqual([BACKFILL_MESSAGE]);
    sent.length = 0; // lost
    await superviseIndexBuilds(d, t0 + 60_000);
    expect(sent).toEqual([]);
    await superviseIndexBuilds(d, t0 + BACKFILL_STALL_MS + 60_000);
    expect(sent).toEqual([BACKFILL_MESSAGE]);
    await stepToEnd(config, 100);
    sent.length = 0;
    await superviseIndexBuilds(d, t0 + 3 * BACKFILL_STALL_MS);
    expect(sent).toEqual([]);
  });

  it("starts one backfill chain however many isolates and queries find the build", async () => {
    await seed(5);
    const config = withIndexes();
    const sent: unknown[] = [];
    // Each isolate has its own config object (a fresh module); here, copies.
    const isolates = Array.from({ length: 4 }, () => deps({ ...config }, sent));
    const t0 = Date.now();
    await Promise.all(isolates.map((d) => superviseIndexBuilds(d, t0)));
    expect(sent).toEqual([BACKFILL_MESSAGE]);
    // All of them find it stalled later: still one restart.
    sent.length = 0;
    await Promise.all(isolates.map((d) => superviseIndexBuilds(d, t0 + BACKFILL_STALL_MS + 60_000)));
    expect(sent).toEqual([BACKFILL_MESSAGE]);
  });

  it("drops the entries of an index removed from the config, and rebuilds it if it comes back", async () => {
    await seed(12);
    const config = withIndexes();
    await ensureIndexBuilds(env.DB, config);
    await stepToEnd(config, 100);
    const built = await compositeRows();
    expect(built.length).toBeGreaterThan(0);

    const [byA, byTag] = config.indexes;
    const fewer: IndexConfig = { indexes: [byA], exemptions: [] };
    expect((await ensureIndexBuilds(env.DB, fewer)).pending).toBe(true);
    expect(await buildStates()).toEqual({ [byA.id]: "ready", [byTag.id]: "dropping" });
    expect(await indexReady(env.DB, byTag)).toBe(false);
    await stepToEnd(fewer, 100);
    expect(await buildStates()).toEqual({ [byA.id]: "ready" });
    expect(await compositeRows()).toEqual(expectedRows(fewer));

    // Back in the config: built again from scratch.
    expect((await ensureIndexBuilds(env.DB, config)).pending).toBe(true);
    expect(await buildStates()).toEqual({ [byA.id]: "ready", [byTag.id]: "building" });
    await stepToEnd(config, 7);
    expect(await compositeRows()).toEqual(built);
  });

  it("restarts the build of an index declared again while it was being dropped", async () => {
    await seed(6);
    const config = withIndexes();
    await ensureIndexBuilds(env.DB, config);
    await stepToEnd(config, 100);
    await ensureIndexBuilds(env.DB, EMPTY_INDEX_CONFIG);
    expect(Object.values(await buildStates())).toEqual(["dropping", "dropping"]);
    expect((await ensureIndexBuilds(env.DB, config)).pending).toBe(true);
    expect(Object.values(await buildStates())).toEqual(["building", "building"]);
    await stepToEnd(config, 100);
    expect(await compositeRows()).toEqual(expectedRows(config));
  });

  it("an index with no build row is ready only when nothing can be missing", async () => {
    expect(await indexReady(env.DB, "ci_unknown")).toBe(false);
    await expect(assertIndexReady(env.DB, { ...withIndexes().indexes[0], collectionGroup: "bf" })).resolves.toBeUndefined();
    await write(EMPTY_INDEX_CONFIG, [["bf/one", { a: 1, b: 1 }]]);
    await expect(assertIndexReady(env.DB, withIndexes().indexes[0])).rejects.toBeInstanceOf(BlazeError);
  });

  it("a query on an index that is not built yet starts its build, even with no write since the index was added", async () => {
    await seed(12);
    const config = withIndexes();
    const sent: unknown[] = [];
    const queryDeps = {
      dbs: [env.DB],
      topology: parseTopology({ INDEX_SHARDS: "DB" }),
      config,
      meta: env.DB,
      onIndexNotReady: () => superviseIndexBuilds({ dbs: [env.DB], indexConfig: config, requestBackfill: async () => void sent.push(BACKFILL_MESSAGE) }),
    };
    const nq = normalizeQuery(parseQuery({ from: { collection: "bf" }, where: ["a", "==", 1], orderBy: [["b", "desc"]] }));
    await expect(runQuery(queryDeps, nq)).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
    expect(sent).toEqual([BACKFILL_MESSAGE]);
    expect(Object.values(await buildStates())).toEqual(["building", "building"]);
    await stepToEnd(config, 50);
    const result = await runQuery(queryDeps, nq);
    expect(result.docs.map((d) => d.path)).toEqual(["bf/d06", "bf/d11", "bf/d01"]); // b desc: "s6" > "s11" > "s1"
  });
});
