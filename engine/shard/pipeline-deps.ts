/**
 * The pipeline's dependencies on a deployment (index databases, its index
 * config, the shards, the change queue), for the queue handler and for the
 * admin routes that drive the pipeline (quarantine replay).
 */
import type { ResolvedChange } from "../index/apply";
import { indexConfig } from "../index/load-config";
import { indexDatabases, parseTopology } from "../index/routing";
import type { ConsumerDeps } from "../pipeline/consumer";
import { BACKFILL_MESSAGE } from "../pipeline/messages";
import { fetchChange, notifyApplied } from "./client";

export function pipelineDeps(env: Env): ConsumerDeps {
  const topology = parseTopology(env);
  return {
    topology,
    dbs: indexDatabases(env as unknown as Record<string, unknown>, topology),
    indexConfig,
    fetchChange: async (shard, path) => (await fetchChange(env, shard, path)) as ResolvedChange,
    notifyShard: (shard, watermark) => notifyApplied(env, shard, watermark),
    requestBackfill: async () => {
      await env.CHANGES.send(BACKFILL_MESSAGE);
    },
  };
}
