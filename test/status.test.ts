/**
 * GET /v1/status (index lag per shard) and the INDEX_LAG_LIMIT backpressure.
 * Lag is made real by failing a shard's queue sends (the outbox keeps the
 * changes, the watermark stays), then released.
 */
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { consumerHooks } from "../engine/pipeline/consumer";
import { holdConsumer } from "./support/hold-consumer";
import type { ShardDO } from "../engine/shard/shard-do";
import { adminHeaders, api, eventually, pathsOnDistinctShards, pathsOnSameShard, runAlarm, shardFor, shardStubFor } from "./helpers";

const onShard = (shard: number, f: (i: ShardDO) => void) => runInDurableObject(shardStubFor(shard) as any, (i: ShardDO) => f(i));

async function status() {
  const r = await api("GET", "/v1/status", undefined, await adminHeaders());
  expect(r.status).toBe(200);
  return r.body;
}

describe("GET /v1/status", () => {
  it("reports every shard caught up once the index has applied the writes", async () => {
    await api("PUT", "/v1/docs/st/a", { n: 1 });
    const body = await eventually(async () => {
      const b = await status();
      return b.index.lagChanges === 0 ? b : null;
    });
    expect(body.shards).toHaveLength(16);
    const shard = body.shards.find((s: { shard: number }) => s.shard === shardFor("st/a"));
    expect(shard).toMatchObject({ lagChanges: 0, lagMs: 0 });
    expect(shard.headSeq).toBeGreaterThan(0);
    expect(shard.watermark).toBe(shard.headSeq);
    expect(body.index).toMatchObject({
      lagChanges: 0, lagLimit: null, deadLetters: expect.any(Number), quarantined: 0,
      config: { hash: expect.stringMatching(/^[0-9a-f]{16}$/), generation: expect.any(Number) },
    });
  });

  it("shows the lag in changes and milliseconds while a shard cannot send, and recovers", async () => {
    const paths = pathsOnSameShard("lagging", 3);
    const shard = shardFor(paths[0]);
    await onShard(shard, (i) => void (i.faults.failQueueSend = 1000));
    for (const p of paths) expect((await api("PUT", `/v1/docs/${p}`, { n: 1 })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 30));
    const s = (await status()).shards.find((x: { shard: number }) => x.shard === shard);
    expect(s.lagChanges).toBe(3);
    expect(s.outboxDepth).toBe(3);
    expect(s.lagMs).toBeGreaterThanOrEqual(20);

    await onShard(shard, (i) => void (i.faults.failQueueSend = 0));
    await runAlarm(shard);
    await eventually(async () => (await status()).shards.find((x: { shard: number }) => x.shard === shard).lagChanges === 0);
  });
});

describe("INDEX_LAG_LIMIT", () => {
  it("refuses writes to a shard the index is too far behind, with Retry-After, and writes nothing", async () => {
    const paths = pathsOnSameShard("paced", 4);
    const shard = shardFor(paths[0]);
    await onShard(shard, (i) => {
      i.faults.failQueueSend = 1000;
      (i as unknown as { env: Record<string, string> }).env.INDEX_LAG_LIMIT = "2";
    });
    try {
      for (const p of paths.slice(0, 3)) expect((await api("PUT", `/v1/docs/${p}`, { n: 1 })).status).toBe(200);
      const refused = await api("PUT", `/v1/docs/${paths[3]}`, { n: 1 });
      expect(refused.status).toBe(429);
      expect(refused.headers.get("Retry-After")).toBe("1");
      expect(refused.body.error).toMatchObject({ code: "RESOURCE_EXHAUSTED", details: { shard, lag: 3, limit: 2, retryAfterMs: 1000 } });
      expect((await api("GET", `/v1/docs/${paths[3]}`)).status).toBe(404);
      expect((await api("POST", "/v1/batch", { writes: [{ op: "set", path: paths[3], data: {} }] })).status).toBe(429);
      expect((await status()).index.lagLimit).toBe(2);

      // Once the index catches up, writes go through again.
      await onShard(shard, (i) => void (i.faults.failQueueSend = 0));
      await runAlarm(shard);
      await eventually(async () => (await api("PUT", `/v1/docs/${paths[3]}`, { n: 1 })).status === 200);
    } finally {
      await onShard(shard, (i) => {
        i.faults.failQueueSend = 0;
        (i as unknown as { env: Record<string, string> }).env.INDEX_LAG_LIMIT = "0";
      });
    }
  });
});

describe("flow control (INDEX_FLOW_CONTROL_MS)", () => {
  const flowStats = async (shard: number) => {
    let stats = { delayed: 0, waitedMs: 0 };
    await onShard(shard, (i) => void (stats = { ...(i as unknown as { flow: { stats: typeof stats } }).flow.stats }));
    return stats;
  };
  const setTarget = (shard: number, ms: number | null) => onShard(shard, (i) => void (i.faults.flowTargetMs = ms));
  const shardStatusOf = async (shard: number) => (await status()).shards.find((x: { shard: number }) => x.shard === shard);
  afterEach(() => {
    consumerHooks.beforeBatch = null;
    consumerHooks.deps = null;
  });

  it("makes writes and batches wait while the consumer is behind the target, and stops once it caught up", async () => {
    const paths = pathsOnSameShard("flow", 3);
    const shard = shardFor(paths[0]);
    const elsewhere = pathsOnDistinctShards("flow-other", 2).find((p) => shardFor(p) !== shard)!;
    expect((await status()).index.flowControlMs).toBe(2000);
    await setTarget(shard, 100);
    let release = holdConsumer();
    try {
      const before = await flowStats(shard);
      expect((await api("PUT", `/v1/docs/${paths[0]}`, { n: 1 })).status).toBe(200);
      expect((await flowStats(shard)).delayed).toBe(before.delayed); // nothing old yet
      await new Promise((r) => setTimeout(r, 600));
      expect((await shardStatusOf(shard)).writeDelayMs).toBe(0); // status judges by INDEX_FLOW_CONTROL_MS (2 s), not the test's target
      expect((await api("PUT", `/v1/docs/${paths[1]}`, { n: 2 })).status).toBe(200);
      // A batch over two shards: this shard paces in its prepare.
      const batch = await api("POST", "/v1/batch", { writes: [{ op: "set", path: paths[2], data: { n: 3 } }, { op: "set", path: elsewhere, data: { n: 3 } }] });
      expect(batch.status).toBe(200);
      const after = await flowStats(shard);
      expect(after.delayed).toBe(before.delayed + 2);
      expect(after.waitedMs - before.waitedMs).toBeGreaterThanOrEqual(2 * 100);

      release();
      await eventually(async () => (await shardStatusOf(shard)).lagChanges === 0);
      const caughtUp = await flowStats(shard);
      expect((await api("PUT", `/v1/docs/${paths[0]}`, { n: 4 })).status).toBe(200);
      expect((await flowStats(shard)).delayed).toBe(caughtUp.delayed);
    } finally {
      release();
      await setTarget(shard, null);
    }
  });

  it("reports the wait a shard's writes get in /v1/status", async () => {
    const [path] = pathsOnSameShard("flow-status", 1);
    const shard = shardFor(path);
    const release = holdConsumer();
    try {
      expect((await api("PUT", `/v1/docs/${path}`, { n: 1 })).status).toBe(200);
      // 2 s target, 500 ms per second past it: 2.6 s old is a wait of at least 300 ms.
      await new Promise((r) => setTimeout(r, 2600));
      const s = await shardStatusOf(shard);
      expect(s.lagMs).toBeGreaterThanOrEqual(2600);
      expect(s.writeDelayMs).toBeGreaterThanOrEqual(300);
    } finally {
      release();
    }
    await eventually(async () => (await shardStatusOf(shard)).lagChanges === 0);
  });

  it("does not slow a shard whose changes the index applied but has not told it of yet", async () => {
    const paths = pathsOnSameShard("flow-told", 2);
    const shard = shardFor(paths[0]);
    // The consumer tells shards nothing: only the shard's own read of D1 can show the outbox applied.
    consumerHooks.deps = (deps) => ({ ...deps, notifyShard: async () => {} });
    expect((await api("PUT", `/v1/docs/${paths[0]}`, { n: 1 })).status).toBe(200);
    const s = await eventually(async () => {
      const x = await shardStatusOf(shard);
      return x.lagChanges === 0 ? x : null;
    });
    // The precondition that makes this test mean something: the outbox still holds applied rows.
    expect(s.outboxDepth).toBeGreaterThan(0);
    await setTarget(shard, 20);
    try {
      await new Promise((r) => setTimeout(r, 100));
      const before = await flowStats(shard);
      expect((await api("PUT", `/v1/docs/${paths[1]}`, { n: 2 })).status).toBe(200);
      expect((await flowStats(shard)).delayed).toBe(before.delayed);
    } finally {
      await setTarget(shard, null);
    }
  });

  it("does not slow writes while the shard cannot send to the queue (waiting would not help the index)", async () => {
    const paths = pathsOnSameShard("flow-nosend", 2);
    const shard = shardFor(paths[0]);
    await onShard(shard, (i) => void (i.faults.failQueueSend = 1000));
    await setTarget(shard, 100);
    try {
      expect((await api("PUT", `/v1/docs/${paths[0]}`, { n: 1 })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 600));
      const before = await flowStats(shard);
      expect((await api("PUT", `/v1/docs/${paths[1]}`, { n: 2 })).status).toBe(200);
      expect((await flowStats(shard)).delayed).toBe(before.delayed);
      expect((await shardStatusOf(shard)).lagChanges).toBe(2);
    } finally {
      await onShard(shard, (i) => void (i.faults.failQueueSend = 0));
      await setTarget(shard, null);
    }
    await runAlarm(shard);
    await eventually(async () => (await shardStatusOf(shard)).lagChanges === 0);
  });
});
