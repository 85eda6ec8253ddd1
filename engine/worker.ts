/**
 * The Worker entry: HTTP (Hono app), the change queue and its dead-letter
 * queue. Nothing else lives here.
 */
import { createApp } from "./http/app";
import { consumeBatch, consumeDeadLetters } from "./pipeline/consumer";
import { metaDatabase } from "./index/routing";
import { pipelineDeps } from "./http/pipeline-deps";

export { ShardDO } from "./shard/shard-do";
export { LiveQueryDO } from "./live/live-query-do";

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),

  async queue(batch, env) {
    if (batch.queue.endsWith("-dlq")) return consumeDeadLetters(batch, metaDatabase(env));
    await consumeBatch(batch, pipelineDeps(env));
  },
} satisfies ExportedHandler<Env>;
