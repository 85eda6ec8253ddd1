/**
 * D1 allows 1,000 queries per Worker invocation. One queue batch is one
 * invocation of the consumer, so every path through it must stay within
 * that, for the widest batch the queue can hand it: max_batch_size (10,
 * wrangler.toml) messages of up to 128 KB, each full of wide documents (many
 * fields, arrays), through (a) the normal path, (b) the whole-batch failure
 * that retries message by message, and (c) quarantine's bisection of a
 * message whose changes keep failing. Queries are counted at the binding:
 * every prepared statement (run alone or in a batch) and every exec.
 */
import { env } from "cloudflare:workers";
import { createMessageBatch } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { Change } from "../engine/core/writes";
import type { DocumentData } from "../engine/core/values";
import { EMPTY_INDEX_CONFIG } from "../engine/index/config-types";
import { parseTopology } from "../engine/index/routing";
import { consumeBatch, consumerHooks, type ConsumerDeps } from "../engine/pipeline/consumer";
import { packMessages, type ChangeMessage } from "../engine/pipeline/messages";
import { QUARANTINE_AFTER_ATTEMPTS } from "../engine/pipeline/quarantine";

const D1_QUERIES_PER_INVOCATION = 1000;
const MAX_BATCH_SIZE = 10;

/** `db` with every query it runs counted into `count`. */
function counted(db: D1Database, count: { n: number }, fail?: { batches: number }): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      const v = (target as any)[prop];
      if (prop === "prepare" || prop === "exec") {
        return (...args: unknown[]) => {
          count.n++;
          return v.apply(target, args);
        };
      }
      if (prop === "batch") {
        return (stmts: D1PreparedStatement[]) => {
          if (fail && fail.batches > 0) {
            fail.batches--;
            return Promise.reject(new Error("D1 is failing (test)"));
          }
          return v.call(target, stmts);
        };
      }
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as D1Database;
}

/** A wide document: 300 fields, a 20-element array, a nested map. */
function wide(i: number): DocumentData {
  const data: DocumentData = { tags: Array.from({ length: 20 }, (_, k) => `t${(i + k) % 50}`), nested: { a: i, b: { c: `x${i}` } } };
  for (let f = 0; f < 300; f++) data[`f${f}`] = f % 3 === 0 ? `v${i}-${f}` : f % 3 === 1 ? i * f : f % 2 === 0;
  return data;
}

/** Exactly MAX_BATCH_SIZE full messages of wide documents from one shard. */
function fullMessages(shard: number, collection: string): ChangeMessage[] {
  const changes: Change[] = [];
  for (let seq = 1; seq <= 2000; seq++) {
    const t = new Date(1_700_000_000_000 + seq).toISOString();
    changes.push({ shard, seq, path: `${collection}/d${seq}`, op: "set", version: 1, data: wide(seq), createTime: t, updateTime: t, existed: false });
  }
  const messages = packMessages(shard, changes).map((p) => p.message);
  expect(messages.length).toBeGreaterThan(MAX_BATCH_SIZE);
  return messages.slice(0, MAX_BATCH_SIZE);
}

function deps(count: { n: number }, fail?: { batches: number }): ConsumerDeps {
  return {
    topology: parseTopology({ INDEX_SHARDS: "DB,DB2", INDEX_SPLIT_COLLECTIONS: "budget_split" }),
    dbs: [counted(env.DB, count, fail), counted(env.DB2, count, fail)],
    indexConfig: EMPTY_INDEX_CONFIG,
    fetchChange: async () => {
      throw new Error("no by-reference changes here");
    },
    notifyShard: async () => undefined,
    requestBackfill: async () => undefined,
  };
}

async function consume(messages: ChangeMessage[], d: ConsumerDeps, attempts = 1) {
  const batch = createMessageBatch<unknown>("blaze-changes", messages.map((body, i) => ({ id: `b${i}`, timestamp: new Date(), attempts, body })));
  return consumeBatch(batch, d);
}

afterEach(() => {
  consumerHooks.checkChange = null;
});

describe("the consumer's D1 query budget per invocation", () => {
  it("a full batch of wide documents, over both index databases", async () => {
    const count = { n: 0 };
    const messages = fullMessages(7001, "budget_split");
    const outcome = await consume(messages, deps(count));
    expect(outcome).toMatchObject({ applied: MAX_BATCH_SIZE, retried: 0 });
    const docs = messages.reduce((s, m) => s + m.changes.length, 0);
    const rows = await Promise.all([env.DB, env.DB2].map((db) => db.prepare(`SELECT COUNT(*) AS n FROM index_entries WHERE collection_path = 'budget_split'`).first<{ n: number }>()));
    expect(rows[0]!.n + rows[1]!.n).toBeGreaterThan(docs * 300);
    console.log(`budget: ${docs} wide documents in ${MAX_BATCH_SIZE} messages, ${rows[0]!.n + rows[1]!.n} index rows: ${count.n} queries`);
    expect(count.n).toBeLessThanOrEqual(D1_QUERIES_PER_INVOCATION);
  }, 120_000);

  it("a batch that fails whole and is retried message by message", async () => {
    const count = { n: 0 };
    const outcome = await consume(fullMessages(7002, "budget_retry"), deps(count, { batches: 1 }));
    expect(outcome).toMatchObject({ applied: MAX_BATCH_SIZE, retried: 0 });
    console.log(`budget: message-by-message retry of ${MAX_BATCH_SIZE} messages: ${count.n} queries`);
    expect(count.n).toBeLessThanOrEqual(D1_QUERIES_PER_INVOCATION);
  }, 120_000);

  it("every message with a poison change, bisected for quarantine", async () => {
    const count = { n: 0 };
    const messages = fullMessages(7003, "budget_poison");
    // One change per message that the index refuses: each message fails whole, then bisects.
    const poison = new Set(messages.map((m) => m.changes[Math.floor(m.changes.length / 2)].path));
    consumerHooks.checkChange = (c) => {
      if (poison.has(c.path)) throw new Error("index refuses it (test)");
    };
    const outcome = await consume(messages, deps(count), QUARANTINE_AFTER_ATTEMPTS);
    console.log(`budget: ${MAX_BATCH_SIZE} messages bisected for quarantine: ${count.n} queries, outcome ${JSON.stringify({ ...outcome, watermarks: undefined })}`);
    expect(count.n).toBeLessThanOrEqual(D1_QUERIES_PER_INVOCATION);
    // Whatever could not be done within the budget is retried, never lost.
    expect(outcome.applied + outcome.retried).toBe(MAX_BATCH_SIZE);
  }, 180_000);
});
