/**
 * While a shard is stuck (its changes cannot reach the index), what it and
 * D1 keep stays bounded: the outbox and the change log by the cap on
 * unapplied changes (writes beyond it answer RESOURCE_EXHAUSTED, whatever
 * INDEX_LAG_LIMIT says), and `applied_ranges` by compaction, which merges
 * the runs applied above a gap instead of keeping one row per message.
 */
import { localConsumerDeps } from "./support/consumer-deps";
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Change } from "../engine/core/writes";
import { EMPTY_INDEX_CONFIG } from "../engine/index/config-types";
import { applyMessages, type ConsumerDeps } from "../engine/pipeline/consumer";
import type { ChangeMessage } from "../engine/pipeline/messages";
import { COMPACT_AFTER_RANGES, readWatermark } from "../engine/pipeline/watermarks";
import type { ShardDO } from "../engine/shard/shard-do";
import { api, eventually, pathsOnSameShard, runAlarm, shardFor, shardStubFor } from "./helpers";

const onShard = <T>(shard: number, f: (i: ShardDO, state: DurableObjectState) => T) =>
  runInDurableObject(shardStubFor(shard) as any, (i: ShardDO, state: DurableObjectState) => f(i, state));

const count = (state: DurableObjectState, table: string) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n;

describe("a stuck shard stays bounded", () => {
  it("refuses writes once it holds the most unapplied changes, keeping its outbox and change log to that", async () => {
    const paths = pathsOnSameShard("stuck", 8);
    const shard = shardFor(paths[0]);
    // Stuck: nothing it sends reaches the index. INDEX_LAG_LIMIT is off (0).
    await onShard(shard, (i) => {
      i.faults.failQueueSend = 1_000_000;
      i.faults.maxUnapplied = 4;
    });
    try {
      for (const p of paths.slice(0, 5)) expect((await api("PUT", `/v1/docs/${p}`, { n: 1 })).status).toBe(200);
      for (const p of paths.slice(5)) {
        const refused = await api("PUT", `/v1/docs/${p}`, { n: 1 });
        expect(refused.status).toBe(429);
        expect(refused.headers.get("Retry-After")).toBe("1");
        expect(refused.body.error).toMatchObject({ code: "RESOURCE_EXHAUSTED", details: { shard, lag: 5, limit: 4 } });
        expect(refused.body.error.message).toContain("the most a shard holds unapplied");
      }
      expect(await onShard(shard, (_i, state) => [count(state, "outbox"), count(state, "changes")])).toEqual([5, 5]);

      // Unstuck: the index catches up and writes go through again.
      await onShard(shard, (i) => void (i.faults.failQueueSend = 0));
      await runAlarm(shard);
      await eventually(async () => (await api("PUT", `/v1/docs/${paths[7]}`, { n: 2 })).status === 200);
    } finally {
      await onShard(shard, (i) => {
        i.faults.failQueueSend = 0;
        i.faults.maxUnapplied = null;
      });
    }
  });

  it("refuses writes once its unapplied changes hold the most bytes, and counts them down as the index applies them", async () => {
    const paths = pathsOnSameShard("stuckbytes", 5);
    const shard = shardFor(paths[0]);
    const bytes = () =>
      onShard(shard, (_i, state) => Number(state.storage.sql.exec<{ value: number }>(`SELECT value FROM meta WHERE key = 'unapplied_bytes'`).toArray()[0]?.value ?? 0));
    const data = { text: "x".repeat(390) }; // 401 bytes of JSON
    await onShard(shard, (i) => {
      i.faults.failQueueSend = 1_000_000;
      i.faults.maxUnappliedBytes = 1000;
    });
    try {
      for (const p of paths.slice(0, 3)) expect((await api("PUT", `/v1/docs/${p}`, data)).status).toBe(200);
      expect(await bytes()).toBe(3 * JSON.stringify(data).length);
      const refused = await api("PUT", `/v1/docs/${paths[3]}`, data);
      expect(refused.status).toBe(429);
      expect(refused.body.error).toMatchObject({ code: "RESOURCE_EXHAUSTED", details: { shard, bytes: 1203, maxBytes: 1000 } });

      await onShard(shard, (i) => void (i.faults.failQueueSend = 0));
      await runAlarm(shard);
      await eventually(async () => (await api("PUT", `/v1/docs/${paths[4]}`, data)).status === 200);
      await eventually(async () => (await bytes()) === 0, 5000);
    } finally {
      await onShard(shard, (i) => {
        i.faults.failQueueSend = 0;
        i.faults.maxUnappliedBytes = null;
      });
    }
  });

  it("keeps applied_ranges to a few rows while a lost message holds the watermark back", async () => {
    const shard = 5001;
    const deps = localConsumerDeps(EMPTY_INDEX_CONFIG);
    const message = (seq: number): ChangeMessage => {
      const t = new Date(1_700_000_000_000 + seq).toISOString();
      const c: Change = { shard, seq, path: `bounded/d${seq % 7}`, op: "set", version: seq, data: { n: seq }, createTime: t, updateTime: t, existed: seq > 7 };
      return { v: 1, shard, fromSeq: seq, toSeq: seq, changes: [c] };
    };
    const rows = async () =>
      (await env.DB.prepare(`SELECT COUNT(*) AS n FROM applied_ranges WHERE shard = ?`).bind(shard).first<{ n: number }>())!.n;
    // Seq 1's message is lost; 300 later ones arrive, one message each, four per queue batch.
    let most = 0;
    for (let seq = 2; seq <= 301; seq += 4) {
      await applyMessages([seq, seq + 1, seq + 2, seq + 3].filter((s) => s <= 301).map(message), deps);
      most = Math.max(most, await rows());
    }
    expect(await readWatermark(env.DB, shard)).toBe(0);
    // One row per message would be 300; merged, it is at most the trigger plus a batch.
    expect(most).toBeLessThanOrEqual(COMPACT_AFTER_RANGES + 4);
    // The lost change comes back: the watermark passes everything at once.
    await applyMessages([message(1)], deps);
    expect(await readWatermark(env.DB, shard)).toBe(301);
    expect(await rows()).toBeLessThanOrEqual(COMPACT_AFTER_RANGES + 4);
    console.log(`applied_ranges: at most ${most} rows for 300 messages above a gap`);
  });
});
