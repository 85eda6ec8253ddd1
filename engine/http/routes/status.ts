/**
 * GET /v1/status: how far the index is behind the documents, per shard:
 * the shard's head seq, the index watermark (from D1), the lag in changes
 * and in milliseconds (since the oldest unapplied change was committed),
 * the outbox depth, the wait flow control puts on its writes now
 * (engine/shard/flow-control.ts), quarantined changes (engine/pipeline/quarantine.ts),
 * the dead-letter count, and which index config owns the index. For operators and import
 * scripts; it reads every shard, so it is not for hot paths.
 */
import { Hono } from "hono";
import { sql } from "drizzle-orm";
import { all } from "../../index/d1";
import { indexDatabases, parseTopology } from "../../index/routing";
import { readConfigOwner } from "../../index/config-owner";
import { quarantinedPerShard } from "../../pipeline/quarantine";
import { readWatermarks } from "../../pipeline/watermarks";
import { shardStatus } from "../../shard/client";
import { flowTargetMs, flowWaitMs } from "../../shard/flow-control";
import { shardCount } from "../../shard/routing";
import type { AppEnv } from "../context";

export const statusRoutes = new Hono<AppEnv>().get("/", async (c) => {
  const env = c.env;
  const meta = indexDatabases(env as unknown as Record<string, unknown>, parseTopology(env))[0];
  const ids = Array.from({ length: shardCount(env) }, (_, i) => i);
  const [marks, quarantined, config] = await Promise.all([readWatermarks(meta, ids), quarantinedPerShard(meta), readConfigOwner(meta)]);
  const now = Date.now();
  const flowTarget = flowTargetMs(env.INDEX_FLOW_CONTROL_MS);
  const shards = await Promise.all(
    ids.map(async (shard) => {
      const watermark = marks.get(shard) ?? 0;
      const s = await shardStatus(env, shard, watermark);
      const lagChanges = Math.max(0, s.headSeq - watermark);
      const lagMs = lagChanges > 0 && s.oldestUnappliedAt !== null ? Math.max(0, now - s.oldestUnappliedAt) : 0;
      return {
        shard,
        headSeq: s.headSeq,
        watermark,
        lagChanges,
        lagMs,
        outboxDepth: s.outboxDepth,
        writeDelayMs: flowWaitMs(lagMs, flowTarget),
        quarantined: quarantined.get(shard) ?? 0,
      };
    }),
  );
  const [dead] = await all<{ n: number }>(meta, sql`SELECT COUNT(*) AS n FROM dead_letters`);
  return c.json({
    index: {
      lagChanges: shards.reduce((n, s) => n + s.lagChanges, 0),
      lagMs: Math.max(0, ...shards.map((s) => s.lagMs)),
      outboxDepth: shards.reduce((n, s) => n + s.outboxDepth, 0),
      quarantined: shards.reduce((n, s) => n + s.quarantined, 0),
      deadLetters: dead?.n ?? 0,
      lagLimit: Number(env.INDEX_LAG_LIMIT ?? 0) || null,
      // Flow control's target lag (ms), null when off.
      flowControlMs: flowTarget || null,
      // The index config the consumers apply (engine/index/config-owner.ts); null before the first batch.
      config,
    },
    shards,
  });
});
