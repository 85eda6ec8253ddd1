/**
 * The Worker entry: HTTP (Hono app), the change queue and its dead-letter
 * queue, and the cron trigger's garbage collection. Nothing else lives here.
 */
import { createApp } from "./http/app";
import { consumeBatch, consumeDeadLetters } from "./pipeline/consumer";
import { metaDatabase } from "./index/routing";
import { gcDeps, pipelineDeps } from "./http/pipeline-deps";
import { collectGarbage } from "./pipeline/gc";

export { ShardDO } from "./shard/shard-do";
export { LiveQueryDO } from "./live/live-query-do";

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),

  async queue(batch, env) {
    if (batch.queue.endsWith("-dlq")) return consumeDeadLetters(batch, metaDatabase(env));
    await consumeBatch(batch, pipelineDeps(env));
  },

  async scheduled(_controller, env) {
    const r = await collectGarbage(gcDeps(env));
    console.log(`blaze gc: ${JSON.stringify(r)}`);
  },
} satisfies ExportedHandler<Env>;
