/**
 * Property: whatever order and duplication the queue delivers messages in,
 * and wherever a consumer run dies, D1 ends equal to the shards' documents.
 * Changes are generated as a shard would emit them; they are applied by the
 * real consumer (applyMessages / consumeBatch) to the real D1, with an index
 * config that declares composite indexes (both scopes, one array-contains) and
 * exempts a field, so composite entries and exemptions converge too.
 */
import { env } from "cloudflare:workers";
import { createMessageBatch, getQueueResult, createExecutionContext } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Change } from "../engine/core/writes";
import type { DocumentData } from "../engine/core/values";
import { compositeRowsFor } from "../engine/index/apply";
import { indexesFor, isExempt, parseIndexConfig } from "../engine/index/config";
import { indexEntriesFor } from "../engine/index/entries";
import { parseDocumentPath } from "../engine/core/paths";
import { indexShardOf, parseTopology } from "../engine/index/routing";
import { applyMessages, consumeBatch, type ConsumerDeps } from "../engine/pipeline/consumer";
import { ownIndexConfig } from "../engine/pipeline/apply-changes";
import { packMessages, type ChangeMessage } from "../engine/pipeline/messages";
import { COMPACT_AFTER_RANGES, readWatermark } from "../engine/pipeline/watermarks";
import { changeLogs, type ChangeOp } from "./support/change-logs";
import { localConsumerDeps } from "./support/consumer-deps";
import { withBatch } from "./support/d1-faults";

const SHARDS = [1001, 1002];
const PATHS = ["pc/a", "pc/b", "pc/c", "pc/d/sub/e", "pd/q/pc/f"];

const CONFIG = parseIndexConfig({
  indexes: [
    { collectionGroup: "pc", queryScope: "COLLECTION", fields: [{ fieldPath: "s", order: "ASCENDING" }, { fieldPath: "n", order: "DESCENDING" }] },
    { collectionGroup: "pc", queryScope: "COLLECTION_GROUP", fields: [{ fieldPath: "tags", arrayConfig: "CONTAINS" }, { fieldPath: "n", order: "ASCENDING" }] },
  ],
  // Exempt from single-field entries in pc only; the composite index on it still holds it.
  fieldOverrides: [{ collectionGroup: "pc", fieldPath: "tags", indexes: [] }],
});

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("").toUpperCase();

const dataArb: fc.Arbitrary<DocumentData> = fc.record(
  {
    n: fc.integer({ min: -5, max: 5 }),
    s: fc.constantFrom("x", "y", "z"),
    tags: fc.array(fc.constantFrom("a", "b", "c"), { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

const opArb = fc.record({
  shardIdx: fc.integer({ min: 0, max: SHARDS.length - 1 }),
  path: fc.constantFrom(...PATHS),
  del: fc.boolean(),
  data: dataArb,
});

const buildLogs = (ops: unknown[]) => changeLogs(ops as ChangeOp[], SHARDS);

function expectedState(logs: Map<number, Change[]>) {
  const out = new Map<string, Change>();
  for (const log of logs.values()) for (const c of log) out.set(c.path, c);
  return out;
}

const INDEX_DBS = () => [env.DB, env.DB2];

/** Empties the index tables of `dbs` (only the first database unless a test uses both: it is run often). */
async function resetIndex(dbs = [env.DB]) {
  for (const db of dbs) {
    await db.batch(
      ["documents", "tombstones", "index_entries", "composite_entries", "watermarks", "applied_ranges"].map((t) => db.prepare(`DELETE FROM ${t}`)),
    );
  }
}

const deps = (): ConsumerDeps => localConsumerDeps(CONFIG);

/** Two index databases, collection `pc` spread over both by document (the rest stays whole). */
const splitDeps = (): ConsumerDeps => ({ ...deps(), topology: parseTopology({ INDEX_SHARDS: "DB,DB2", INDEX_SPLIT_COLLECTIONS: "pc" }), dbs: INDEX_DBS() });


/** Rows of a query over the index databases `dbs`. */
async function everyDb<T>(query: string, dbs: D1Database[]): Promise<T[]> {
  return (await Promise.all(dbs.map(async (db) => (await db.prepare(query).all<T>()).results))).flat();
}

async function checkIndexEquals(logs: Map<number, Change[]>, dbs = [env.DB]) {
  const expected = expectedState(logs);
  const docs = (await everyDb<any>(`SELECT path, data, version FROM documents`, dbs)).sort((a, b) => (a.path < b.path ? -1 : 1));
  const live = [...expected.values()].filter((c) => c.op === "set").sort((a, b) => (a.path < b.path ? -1 : 1));
  expect(docs.map((r) => ({ path: r.path, data: JSON.parse(r.data), version: r.version }))).toEqual(
    live.map((c) => ({ path: c.path, data: c.data, version: c.version })),
  );
  const entries = await everyDb<any>(`SELECT doc_path, field, kind, hex(value) AS v FROM index_entries`, dbs);
  const want = live.flatMap((c) => {
    const exempt = (f: string) => isExempt(CONFIG, parseDocumentPath(c.path).collectionId, f);
    return indexEntriesFor(c.data!, { exempt }).map((e) => `${c.path}|${e.field}|${e.kind}|${hex(e.value)}`);
  });
  expect(entries.map((r) => `${r.doc_path}|${r.field}|${r.kind}|${r.v}`).sort()).toEqual(want.sort());
  const composite = await everyDb<any>(`SELECT index_id, scope, hex(key) AS k, doc_path, seq FROM composite_entries`, dbs);
  const wantComposite = live.flatMap((c) =>
    compositeRowsFor(indexesFor(CONFIG, parseDocumentPath(c.path).collectionId), { path: c.path, seq: c.seq, data: c.data! }).map(
      ([id, scope, key, path, seq]) => `${id}|${scope}|${hex(key)}|${path}|${seq}`,
    ),
  );
  expect(composite.map((r) => `${r.index_id}|${r.scope}|${r.k}|${r.doc_path}|${r.seq}`).sort()).toEqual(wantComposite.sort());
  for (const [shard, log] of logs) {
    const w = { applied_seq: await readWatermark(env.DB, shard) };
    expect(w?.applied_seq ?? 0).toBe(log.length);
  }
}

describe("consumer convergence (property)", () => {
  it.each([
    ["one index database", deps, 40],
    ["two index databases, a split collection", splitDeps, 25],
  ] as const)("any order and duplication of deliveries leaves D1 equal to the documents (%s)", async (_, makeDeps, numRuns) => {
    const dbs = makeDeps().dbs;
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 1, max: 6 }),
        fc.infiniteStream(fc.nat()),
        async (ops, perMessage, rand) => {
          await resetIndex(dbs);
          const logs = buildLogs(ops as any);
          const messages: ChangeMessage[] = [];
          for (const [shard, log] of logs) {
            const packed = packMessages(shard, log, { maxBytes: 100_000, maxChanges: perMessage, maxInline: 50_000 });
            messages.push(...packed.map((p) => p.message));
          }
          // Every message at least once, some twice, in a random order.
          const it = rand[Symbol.iterator]();
          const deliveries = [...messages, ...messages.filter(() => it.next().value % 3 === 0)];
          for (let i = deliveries.length - 1; i > 0; i--) {
            const j = it.next().value % (i + 1);
            [deliveries[i], deliveries[j]] = [deliveries[j], deliveries[i]];
          }
          // Deliver in random-sized batches.
          while (deliveries.length > 0) {
            const n = 1 + (it.next().value % 3);
            await applyMessages(deliveries.splice(0, n), makeDeps());
          }
          await checkIndexEquals(logs, dbs);
        },
      ),
      { numRuns },
    );
  });

  it("a consumer that dies mid-batch, or after applying but before the ack, converges on redelivery", async () => {
    /** A D1 whose `batch` throws on the given calls, as a consumer killed there would leave it. */
    const crashingOn = (...failing: number[]) => {
      let calls = 0;
      return withBatch(env.DB, async (stmts) => {
        if (failing.includes(++calls)) throw new Error("consumer crashed");
        return env.DB.batch(stmts);
      });
    };
    await resetIndex();
    const ops = [
      { shardIdx: 0, path: "pc/a", del: false, data: { n: 1 } },
      { shardIdx: 0, path: "pc/a", del: false, data: { n: 2, tags: ["a"] } },
      { shardIdx: 0, path: "pc/b", del: false, data: { s: "x" } },
      { shardIdx: 0, path: "pc/a", del: true, data: {} },
      ...Array.from({ length: COMPACT_AFTER_RANGES + 2 }, (_, i) => ({ shardIdx: 0, path: "pc/c", del: false, data: { n: i } })),
    ];
    const logs = buildLogs(ops as any);
    const messages = packMessages(SHARDS[0], logs.get(SHARDS[0])!, { maxBytes: 100_000, maxChanges: 1, maxInline: 50_000 }).map((p) => p.message);
    const dying = deps();
    // The apply batch itself fails: D1 rolls it back, nothing is half written.
    dying.dbs = [crashingOn(1)];
    await expect(applyMessages([messages[0]], dying)).rejects.toThrow("consumer crashed");
    expect((await env.DB.prepare(`SELECT COUNT(*) AS n FROM applied_ranges`).first<{ n: number }>())!.n).toBe(0);
    // Applied, then died before the ack: every message is delivered twice.
    for (const m of messages) await applyMessages([m], deps());
    // Died in the compaction that follows an apply (the second batch call).
    dying.dbs = [crashingOn(2)];
    for (const m of messages) await applyMessages([m], dying).catch(() => undefined);
    for (const m of messages) await applyMessages([m], deps());
    await checkIndexEquals(logs);
  });

  /** Sets on `pc` documents of one shard that land in both index databases of splitDeps, packed a few changes a message. */
  function splitLogs() {
    const ops = Array.from({ length: 10 }, (_, i) => ({ shardIdx: 0, path: PATHS[i % PATHS.length], del: i === 6, data: { n: i, s: "x", tags: ["a"] } }));
    const logs = buildLogs(ops as any);
    const messages = packMessages(SHARDS[0], logs.get(SHARDS[0])!, { maxBytes: 100_000, maxChanges: 5, maxInline: 50_000 }).map((p) => p.message);
    const d = splitDeps();
    const dbsHit = new Set(messages.flatMap((m) => m.changes.map((c) => indexShardOf(d.topology, parseDocumentPath(c.path).collectionId, c.path))));
    expect([...dbsHit].sort()).toEqual([0, 1]); // the test needs both databases written
    return { logs, messages };
  }

  it("with several index databases, applies them at once and records the ranges only after all succeeded", async () => {
    await resetIndex(INDEX_DBS());
    const { logs, messages } = splitLogs();
    await ownIndexConfig(splitDeps()); // taken over now: the batches below are the apply's
    const events: string[] = [];
    let metaStarted!: () => void;
    const started = new Promise<void>((r) => (metaStarted = r));
    let metaCalls = 0;
    const d = splitDeps();
    d.dbs = [
      withBatch(env.DB, async (stmts) => {
        const call = ++metaCalls;
        events.push(`DB ${call} start`);
        metaStarted();
        const out = await env.DB.batch(stmts);
        events.push(`DB ${call} end`);
        return out;
      }),
      // DB2's batch waits for DB's: applied one after the other, it never would.
      withBatch(env.DB2, async (stmts) => {
        events.push("DB2 start");
        const alone = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("DB2's batch ran alone: the databases were applied one after the other")), 3000));
        await Promise.race([started, alone]);
        const out = await env.DB2.batch(stmts);
        events.push("DB2 end");
        return out;
      }),
    ];
    await applyMessages(messages, d);
    // The second DB batch records the ranges: it starts after both applies ended.
    expect(events.indexOf("DB 2 start")).toBeGreaterThan(events.indexOf("DB2 end"));
    expect(events.indexOf("DB 2 start")).toBeGreaterThan(events.indexOf("DB 1 end"));
    await checkIndexEquals(logs, INDEX_DBS());
  });

  it("one index database failing retries the message; the other's rows stay, the watermark does not move, and the retry converges", async () => {
    await resetIndex(INDEX_DBS());
    const { logs, messages } = splitLogs();
    await ownIndexConfig(splitDeps()); // taken over now: what fails below is the apply
    let db2Fails = true;
    const d = splitDeps();
    d.dbs = [
      env.DB,
      withBatch(env.DB2, async (stmts) => {
        if (db2Fails) throw new Error("DB2 unavailable");
        return env.DB2.batch(stmts);
      }),
    ];
    const deliver = async (attempts: number) => {
      const batch = createMessageBatch<unknown>("blaze-changes", messages.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts, body })));
      const outcome = await consumeBatch(batch, d);
      return { outcome, result: await getQueueResult(batch, createExecutionContext()) };
    };
    const failed = await deliver(1);
    expect(failed.outcome).toMatchObject({ applied: 0, retried: messages.length });
    expect(failed.result.retryMessages.map((m) => m.msgId).sort()).toEqual(messages.map((_, i) => `m${i}`));
    // DB applied its part (kept: the statements are idempotent); nothing is recorded as applied.
    expect((await env.DB.prepare(`SELECT COUNT(*) AS n FROM documents`).first<{ n: number }>())!.n).toBeGreaterThan(0);
    expect((await env.DB2.prepare(`SELECT COUNT(*) AS n FROM documents`).first<{ n: number }>())!.n).toBe(0);
    expect((await env.DB.prepare(`SELECT COUNT(*) AS n FROM applied_ranges`).first<{ n: number }>())!.n).toBe(0);
    expect(await readWatermark(env.DB, SHARDS[0])).toBe(0);
    expect(failed.outcome.watermarks.get(SHARDS[0]) ?? 0).toBe(0);

    db2Fails = false;
    const retried = await deliver(2);
    expect(retried.outcome).toMatchObject({ applied: messages.length, retried: 0 });
    expect(retried.outcome.watermarks.get(SHARDS[0])).toBe(logs.get(SHARDS[0])!.length);
    await checkIndexEquals(logs, INDEX_DBS());
  });

  it("acknowledges a message the index already holds without building or running index statements", async () => {
    await resetIndex();
    const ops = Array.from({ length: 12 }, (_, i) => ({ shardIdx: 0, path: PATHS[i % PATHS.length], del: i === 7, data: { n: i, tags: ["a"] } }));
    const logs = buildLogs(ops as any);
    const messages = packMessages(SHARDS[0], logs.get(SHARDS[0])!, { maxBytes: 100_000, maxChanges: 4, maxInline: 50_000 }).map((p) => p.message);
    // The middle message is lost: the watermark stops below it, its successors sit in applied_ranges.
    for (const m of messages.filter((_, i) => i !== 1)) await applyMessages([m], deps());
    const batches: number[] = [];
    const counting = withBatch(env.DB, (stmts) => (batches.push(stmts.length), env.DB.batch(stmts)));
    const d = { ...deps(), dbs: [counting] };
    d.fetchChange = async () => {
      throw new Error("a duplicate must not be resolved");
    };
    const counts = { duplicates: 0 };
    // Redeliveries of messages below the watermark and above it: one read, no batch.
    await applyMessages([messages[0], messages[2]], d, counts);
    expect(counts.duplicates).toBe(2);
    expect(batches).toEqual([]);
    // The lost message, with a duplicate beside it: only it is applied.
    await applyMessages([messages[1], messages[0]], d, counts);
    expect(counts.duplicates).toBe(3);
    expect(batches).toHaveLength(1);
    await checkIndexEquals(logs);
  });

  it("stores each document's data as exactly the JSON text the shard would write", async () => {
    const key = fc.string({ unit: "binary", minLength: 1, maxLength: 6 });
    const scalar = fc.oneof(fc.string({ unit: "binary", maxLength: 12 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
    await fc.assert(
      fc.asyncProperty(fc.dictionary(key, fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(key, scalar, { maxKeys: 3 })), { maxKeys: 6 }), async (data) => {
        await resetIndex();
        const change: Change = { shard: SHARDS[0], seq: 1, path: "pc/json", op: "set", version: 1, data: data as DocumentData, createTime: "t", updateTime: "t", existed: false };
        await applyMessages([{ v: 1, shard: SHARDS[0], fromSeq: 1, toSeq: 1, changes: [change] }], deps());
        const row = await env.DB.prepare(`SELECT data FROM documents WHERE path = 'pc/json'`).first<{ data: string }>();
        expect(row!.data).toBe(JSON.stringify(data));
      }),
      { numRuns: 60 },
    );
  }, 30_000); // 60 runs through the consumer: ~6 s on a loaded 2-core machine

  it("the queue handler acks good messages, retries failing ones, and drops malformed ones", async () => {
    await resetIndex();
    const logs = buildLogs([{ shardIdx: 1, path: "pc/c", del: false, data: { n: 5 } }] as any);
    const good = packMessages(SHARDS[1], logs.get(SHARDS[1])!)[0].message;
    const byRef: ChangeMessage = { v: 1, shard: SHARDS[0], fromSeq: 1, toSeq: 1, changes: [{ shard: SHARDS[0], seq: 1, path: "pc/z", op: "set", version: 1, updateTime: "t", existed: false, byRef: true }] };
    const batch = createMessageBatch<unknown>("blaze-changes", [
      { id: "good", timestamp: new Date(), attempts: 1, body: good },
      { id: "failing", timestamp: new Date(), attempts: 1, body: byRef },
      { id: "junk", timestamp: new Date(), attempts: 1, body: { hello: "world" } },
    ]);
    const ctx = createExecutionContext();
    const outcome = await consumeBatch(batch, deps());
    const result = await getQueueResult(batch, ctx);
    expect(outcome).toMatchObject({ applied: 1, duplicates: 0, retried: 1, rejected: 1 });
    expect(result.explicitAcks.sort()).toEqual(["good", "junk"]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["failing"]);
    const dead = await env.DB.prepare(`SELECT reason FROM dead_letters`).all<{ reason: string }>();
    expect(dead.results.map((r) => r.reason)).toContain("malformed change message");
    expect((await env.DB.prepare(`SELECT COUNT(*) AS n FROM documents WHERE path = 'pc/c'`).first<{ n: number }>())?.n).toBe(1);
  });

  it("folds applied runs into the stored watermark once a shard has many", async () => {
    await resetIndex();
    const ops = Array.from({ length: 2 * COMPACT_AFTER_RANGES + 3 }, (_, i) => ({ shardIdx: 0, path: PATHS[i % PATHS.length], del: false, data: { n: i } }));
    const logs = buildLogs(ops as any);
    const messages = packMessages(SHARDS[0], logs.get(SHARDS[0])!, { maxBytes: 100_000, maxChanges: 1, maxInline: 50_000 }).map((p) => p.message);
    for (const m of messages) await applyMessages([m], deps());
    const stored = await env.DB.prepare(`SELECT applied_seq FROM watermarks WHERE shard = ?`).bind(SHARDS[0]).first<{ applied_seq: number }>();
    const runs = await env.DB.prepare(`SELECT COUNT(*) AS n FROM applied_ranges WHERE shard = ?`).bind(SHARDS[0]).first<{ n: number }>();
    expect(stored?.applied_seq).toBeGreaterThanOrEqual(COMPACT_AFTER_RANGES);
    expect(runs!.n).toBeLessThan(COMPACT_AFTER_RANGES);
    expect(await readWatermark(env.DB, SHARDS[0])).toBe(messages.length);
    await checkIndexEquals(logs);
  });

  it("fetches a document sent by reference once, at its newest version, however many changes name it", async () => {
    await resetIndex();
    const shard = SHARDS[1];
    const ref = (seq: number): Change => ({ shard, seq, path: "pc/big", op: "set", version: seq, updateTime: "t", existed: seq > 1, byRef: true });
    const fetched: number[] = [];
    const d = deps();
    d.fetchChange = async (_shard, path) => {
      fetched.push(fetched.length);
      return { shard, seq: 3, path, op: "set", version: 3, data: { big: "z" }, createTime: "t", updateTime: "t", existed: true };
    };
    await applyMessages([{ v: 1, shard, fromSeq: 1, toSeq: 3, changes: [ref(1), ref(2), ref(3)] }], d);
    expect(fetched).toHaveLength(1);
    expect(JSON.parse((await env.DB.prepare(`SELECT data FROM documents WHERE path = 'pc/big'`).first<{ data: string }>())!.data)).toEqual({ big: "z" });
  });

  it("indexes a document over the write-time entry limit (a config change made it so) rather than stall", async () => {
    await resetIndex();
    const data = Object.fromEntries(Array.from({ length: 1100 }, (_, i) => [`f${i}`, i]));
    const logs = new Map([[SHARDS[0], [{ shard: SHARDS[0], seq: 1, path: "pc/wide", op: "set", version: 1, data, createTime: "t", updateTime: "t", existed: false } as Change]]]);
    await applyMessages(packMessages(SHARDS[0], logs.get(SHARDS[0])!).map((p) => p.message), deps());
    const n = await env.DB.prepare(`SELECT COUNT(*) AS n FROM index_entries WHERE doc_path = 'pc/wide'`).first<{ n: number }>();
    expect(n!.n).toBe(1100);
  });
});
