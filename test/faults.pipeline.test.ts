/**
 * Faults in the change pipeline under the mixed load, each run judged by the
 * history checker (loadtest/lib/checker.ts) and ending with the D1 index
 * equal to the documents: consumer invocations that fail (before or after D1
 * applied) and are retried, duplicate and reordered deliveries, and a D1
 * that refuses everything for a while (the dead-letter queue, then the
 * outbox, recover). Real shard DOs, real D1, the real queue and queue
 * handler; faults are injected at the glue (consumerHooks). Own file: the
 * hooks would disturb other tests.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../engine/worker";
import { consumerHooks, type ConsumerDeps } from "../engine/pipeline/consumer";
import { isChangeMessage, type ChangeMessage } from "../engine/pipeline/messages";
import { checkedLoad, expectCheckedAndIndexed } from "./support/checked-load";
import { unavailable, withBatch } from "./support/d1-faults";

afterEach(() => {
  consumerHooks.beforeBatch = null;
  consumerHooks.afterBatch = null;
  consumerHooks.deps = null;
});

const minAttempts = (batch: MessageBatch<unknown>) => Math.min(...batch.messages.map((m) => m.attempts));
/** Faults stop before a message's third delivery: past it a message failing alone is a candidate for quarantine. */
const RETRIES_BEFORE_QUARANTINE = 2;

describe("pipeline faults under mixed load, judged by the history checker", () => {
  it("consumer invocations that fail, before D1 or after it applied, are retried and converge", async () => {
    let invocations = 0;
    let failedBefore = 0;
    let failedAfterApply = 0;
    let redelivered = 0;
    let faulty = false;
    consumerHooks.beforeBatch = async (batch) => {
      redelivered += batch.messages.filter((m) => m.attempts > 1).length;
      // Every third invocation fails outright: the queue retries the whole batch.
      if (faulty && minAttempts(batch) <= RETRIES_BEFORE_QUARANTINE && ++invocations % 3 === 0) {
        failedBefore++;
        throw new Error("injected fault: consumer invocation failed");
      }
    };
    let batches = 0;
    consumerHooks.deps = (deps, batch): ConsumerDeps => {
      if (!faulty || minAttempts(batch) > RETRIES_BEFORE_QUARANTINE || ++batches % 3 !== 0) return deps;
      // The meta database's first batch runs, then its answer is lost: the
      // index (and the applied ranges) hold the changes, the consumer thinks
      // they failed and retries them one by one.
      let lost = false;
      const meta = deps.dbs[0];
      const dbs = [
        withBatch(meta, async (stmts) => {
          const out = await meta.batch(stmts);
          if (!lost) {
            lost = true;
            failedAfterApply++;
            throw new Error("injected fault: the consumer died after D1 applied");
          }
          return out;
        }),
        ...deps.dbs.slice(1),
      ];
      return { ...deps, dbs };
    };
    const run = await checkedLoad({
      during: async (r) => {
        await r.sleep(1_000);
        faulty = true;
        await r.sleep(5_000);
        faulty = false;
      },
    });
    console.log(`consumer faults: ${failedBefore} invocations failed before D1, ${failedAfterApply} after it applied; ${redelivered} messages delivered again`);
    expect(failedBefore, run.text).toBeGreaterThan(0);
    expect(failedAfterApply, run.text).toBeGreaterThan(0);
    expect(redelivered, run.text).toBeGreaterThan(0);
    await expectCheckedAndIndexed(run);
  }, 60_000);

  it("duplicate and reordered deliveries change nothing", async () => {
    const seen: ChangeMessage[] = [];
    consumerHooks.beforeBatch = async (batch) => {
      for (const m of batch.messages) if (isChangeMessage(m.body)) seen.push(m.body);
    };
    let duplicates = 0;
    consumerHooks.afterBatch = (_batch, outcome) => void (duplicates += outcome.duplicates);
    let crafted = 0;
    let redeliveredMessages = 0;
    const run = await checkedLoad({
      during: async (r) => {
        await r.sleep(1_000);
        while (r.elapsed() < 7_500) {
          await r.sleep(250);
          if (seen.length < 2) continue;
          // Up to ten earlier messages, old and new mixed, newest first, one of them twice.
          const picks = Array.from({ length: Math.min(9, seen.length) }, () => seen[Math.floor(Math.random() * seen.length)]);
          picks.push(picks[0]);
          picks.sort((a, b) => b.fromSeq - a.fromSeq || b.shard - a.shard);
          const batch = createMessageBatch<unknown>(
            "blaze-changes",
            picks.map((body, i) => ({ id: `dup-${crafted}-${i}`, timestamp: new Date(), attempts: 1, body })),
          );
          const ctx = createExecutionContext();
          await worker.queue(batch as MessageBatch<unknown>, env);
          const result = await getQueueResult(batch, ctx);
          expect(result.retryMessages).toEqual([]);
          crafted++;
          redeliveredMessages += picks.length;
        }
      },
    });
    expect(crafted, run.text).toBeGreaterThan(5);
    console.log(`duplicates: ${crafted} crafted batches, ${redeliveredMessages} messages delivered again, ${duplicates} acknowledged as already applied`);
    expect(duplicates, run.text).toBeGreaterThan(0);
    await expectCheckedAndIndexed(run);
  }, 60_000);

  it("a D1 that refuses everything for a while: messages reach the dead-letter queue, the outbox sends them again", async () => {
    const deadLetters = async () =>
      (await env.DB.prepare(`SELECT COUNT(*) AS n FROM dead_letters WHERE reason LIKE 'dead-lettered after%'`).first<{ n: number }>())!.n;
    const before = await deadLetters();
    let down = false;
    let refused = 0;
    consumerHooks.deps = (deps) => {
      if (!down) return deps;
      refused++;
      return { ...deps, dbs: deps.dbs.map(unavailable) };
    };
    let downMs = 0;
    const run = await checkedLoad({
      durationMs: 10_000,
      settleMs: 40_000,
      during: async (r) => {
        await r.sleep(1_500);
        down = true;
        const t0 = Date.now();
        // Down until the queue has given up on a message (six deliveries), 2 s at least.
        while (Date.now() - t0 < 2_000 || ((await deadLetters()) === before && Date.now() - t0 < 15_000)) await r.sleep(200);
        down = false;
        downMs = Date.now() - t0;
      },
    });
    const dead = (await deadLetters()) - before;
    console.log(`D1 down for ${downMs} ms: ${refused} consumer batches refused, ${dead} messages dead-lettered`);
    expect(refused, run.text).toBeGreaterThan(0);
    expect(dead, run.text).toBeGreaterThan(0);
    await expectCheckedAndIndexed(run);
  }, 60_000);
});
