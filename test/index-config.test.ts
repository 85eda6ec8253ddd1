/**
 * A composite index is never marked ready while a consumer running the
 * previous index config can still drop its entries. Two configs, as two
 * consumer isolates of two deployments (one config object each): the old
 * one has no composite index on "ic", the new one adds it. Once the new one
 * has taken the index over (its first batch), every batch of the old one is
 * refused atomically (the config guard), so a document it rewrites cannot
 * lose the new index's entries; the newest starter wins.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { DocumentData } from "../engine/core/values";
import type { Change } from "../engine/core/writes";
import { parseIndexConfig } from "../engine/index/config";
import { configHash, readConfigOwner, StaleIndexConfigError } from "../engine/index/config-owner";
import type { IndexConfig } from "../engine/index/config-types";
import { parseTopology } from "../engine/index/routing";
import { applyMessages, consumeBatch, type ConsumerDeps } from "../engine/pipeline/consumer";
import { BACKFILL_MESSAGE, isBackfillMessage, packMessages, type ChangeMessage } from "../engine/pipeline/messages";
import { readWatermark } from "../engine/pipeline/watermarks";
import { indexDbFor } from "./helpers";

/** The index database that holds collection "ic". */
const icDb = () => indexDbFor("ic/any");

const SHARD = 6001;
const OLD = { indexes: [], fieldOverrides: [] };
const NEW = { indexes: [{ collectionGroup: "ic", queryScope: "COLLECTION", fields: [{ fieldPath: "a", order: "ASCENDING" }, { fieldPath: "b", order: "ASCENDING" }] }], fieldOverrides: [] };

let seq = 0;
function message(path: string, data: DocumentData): ChangeMessage {
  seq++;
  const t = new Date(1_700_000_000_000 + seq).toISOString();
  const c: Change = { shard: SHARD, seq, path, op: "set", version: seq, data, createTime: t, updateTime: t, existed: false };
  return packMessages(SHARD, [c])[0].message;
}

function deps(config: IndexConfig, sent: unknown[]): ConsumerDeps {
  return {
    topology: parseTopology({ INDEX_SHARDS: "DB,DB2" }),
    dbs: [env.DB, env.DB2],
    indexConfig: config,
    fetchChange: async () => {
      throw new Error("no by-reference changes here");
    },
    notifyShard: async () => undefined,
    requestBackfill: async () => void sent.push(BACKFILL_MESSAGE),
    backfillDocsPerMessage: 3,
  };
}

const entriesOf = async (path: string) =>
  (await icDb().prepare(`SELECT COUNT(*) AS n FROM composite_entries WHERE doc_path = ?`).bind(path).first<{ n: number }>())!.n;
const buildState = async (config: IndexConfig) =>
  (await icDb().prepare(`SELECT state FROM index_builds WHERE index_id = ?`).bind(config.indexes[0].id).first<{ state: string }>())?.state;

async function deliver(d: ConsumerDeps, body: unknown, attempts = 1) {
  const batch = createMessageBatch<unknown>("blaze-changes", [{ id: `m${seq}-${attempts}`, timestamp: new Date(), attempts, body }]);
  const ctx = createExecutionContext();
  const outcome = await consumeBatch(batch, d);
  return { outcome, result: await getQueueResult(batch, ctx) };
}

describe("index config ownership", () => {
  it("refuses an old config's batches once a new config has taken over, so a built index keeps its entries", async () => {
    const sent: unknown[] = [];
    const oldConsumer = deps(parseIndexConfig(OLD), sent);
    // The old deployment writes documents of "ic" (no composite index in its config).
    for (let i = 0; i < 7; i++) expect((await deliver(oldConsumer, message(`ic/d${i}`, { a: i % 3, b: i }))).result.explicitAcks).toHaveLength(1);
    const before = await readConfigOwner(env.DB);
    expect(before?.hash).toBe(await configHash(oldConsumer.indexConfig));

    // The new deployment starts: its first batch takes the index over and declares the build.
    const newConfig = parseIndexConfig(NEW);
    const newConsumer = deps(newConfig, sent);
    expect((await deliver(newConsumer, message("ic/new", { a: 9, b: 9 }))).result.explicitAcks).toHaveLength(1);
    for (const db of [env.DB, env.DB2]) {
      expect(await readConfigOwner(db)).toEqual({ hash: await configHash(newConfig), generation: expect.any(Number) });
    }
    expect((await readConfigOwner(env.DB))!.generation).toBe(before!.generation + 1);
    expect(await buildState(newConfig)).toBe("building");

    // The old isolate is still running: it would rewrite ic/d1 without the new
    // index's entries. Its batch is refused whole, and retried (never quarantined).
    const rewrite = message("ic/d1", { a: 1, b: 100 });
    await expect(applyMessages([rewrite], oldConsumer)).rejects.toBeInstanceOf(StaleIndexConfigError);
    const refused = await deliver(oldConsumer, rewrite, 3);
    expect(refused.outcome).toMatchObject({ applied: 0, retried: 1, quarantined: 0 });
    expect(refused.result.retryMessages).toHaveLength(1);
    expect(await readWatermark(env.DB, SHARD)).toBe(seq - 1);
    // Its backfill steps leave the build alone: it does not know the index.
    await deliver(oldConsumer, BACKFILL_MESSAGE);
    expect(await buildState(newConfig)).toBe("building");
    expect(await entriesOf("ic/d1")).toBe(0);

    // The new consumer backfills (messages go round) until the index is ready...
    for (let rounds = 0; sent.length > 0; rounds++) {
      const body = sent.shift();
      expect(isBackfillMessage(body)).toBe(true);
      expect((await deliver(newConsumer, body)).result.explicitAcks).toHaveLength(1);
      if (rounds > 50) throw new Error("backfill does not finish");
    }
    expect(await buildState(newConfig)).toBe("ready");
    // ...and applies what the old one was refused: the index keeps every entry.
    expect((await deliver(newConsumer, rewrite, 4)).result.explicitAcks).toHaveLength(1);
    expect(await readWatermark(env.DB, SHARD)).toBe(seq);
    for (let i = 0; i < 7; i++) expect(await entriesOf(`ic/d${i}`)).toBe(1);
    const d1 = await icDb().prepare(`SELECT seq FROM composite_entries WHERE doc_path = 'ic/d1'`).first<{ seq: number }>();
    expect(d1?.seq).toBe(rewrite.toSeq);

    // The newest starter wins: an isolate of the old deployment that starts
    // now takes the index back (the rollout caveat), and the new one is refused.
    const lateOld = deps(parseIndexConfig(OLD), sent);
    await deliver(lateOld, message("ic/late", { a: 1, b: 1 }));
    expect((await readConfigOwner(env.DB))!.generation).toBe(before!.generation + 2);
    await expect(applyMessages([message("ic/x", { a: 1, b: 2 })], newConsumer)).rejects.toBeInstanceOf(StaleIndexConfigError);
  });
});
