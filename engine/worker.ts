/**
 * The Worker entry: HTTP (Hono app), the change queue and its dead-letter
 * queue. Nothing else lives here.
 */
import { createApp } from "./http/app";
import { consumeBatch, consumeDeadLetters } from "./pipeline/consumer";
import { indexDatabases, metaDatabase, parseTopology } from "./index/routing";
import { indexConfig } from "./index/load-config";
import { BACKFILL_MESSAGE } from "./pipeline/messages";
import { fetchChange, notifyApplied } from "./shard/client";
import type { ResolvedChange } from "./index/apply";

export { ShardDO } from "./shard/shard-do";

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),

  async queue(batch, env) {
    if (batch.queue.endsWith("-dlq")) return consumeDeadLetters(batch, metaDatabase(env));
    const topology = parseTopology(env);
    await consumeBatch(batch, {
      topology,
      dbs: indexDatabases(env as unknown as Record<string, unknown>, topology),
      indexConfig,
      fetchChange: async (shard, path) => (await fetchChange(env, shard, path)) as ResolvedChange,
      notifyShard: (shard, watermark) => notifyApplied(env, shard, watermark),
      requestBackfill: async () => {
        await env.CHANGES.send(BACKFILL_MESSAGE);
      },
    });
  },
} satisfies ExportedHandler<Env>;
