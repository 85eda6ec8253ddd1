/**
 * The Worker entry: HTTP (Hono app), the change queue and its dead-letter
 * queue. Nothing else lives here.
 */
import { createApp } from "./http/app";
import { consumeBatch, recordDeadLetter } from "./pipeline/consumer";
import { indexDatabases, parseTopology } from "./index/routing";
import { shardStub } from "./shard/routing";
import type { ResolvedChange } from "./index/apply";
import { fromWireError } from "./core/errors";

export { ShardDO } from "./shard/shard-do";

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),

  async queue(batch, env) {
    if (batch.queue.endsWith("-dlq")) {
      for (const msg of batch.messages) {
        const reason = `gave up after ${msg.attempts} attempts; the shard outbox will send it again`;
        console.error(`blaze dead letter ${msg.id}: ${reason}`);
        await recordDeadLetter(env.DB, msg.body, reason);
        msg.ack();
      }
      return;
    }
    const topology = parseTopology(env);
    await consumeBatch(batch, {
      topology,
      dbs: indexDatabases(env as unknown as Record<string, unknown>, topology),
      fetchChange: async (shard, path) => {
        try {
          return (await shardStub(env, shard).fetchChange(shard, path)) as ResolvedChange;
        } catch (e) {
          throw fromWireError(e);
        }
      },
      notifyShard: (shard, watermark) => shardStub(env, shard).acked(shard, watermark),
    });
  },
} satisfies ExportedHandler<Env>;
