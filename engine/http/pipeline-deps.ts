/**
 * The pipeline's dependencies on a deployment (index databases, its index
 * config, the shards, the live queries, the change queue), for the queue
 * handler and for the admin routes that drive the pipeline (quarantine
 * replay, the index verifier). Here because it reaches every floor below the Worker.
 */
import type { ResolvedChange } from "../index/apply";
import { indexConfig } from "../index/load-config";
import { indexDatabases, parseTopology } from "../index/routing";
import { notifyLiveQuery } from "../live/client";
import type { ConsumerDeps } from "../pipeline/consumer";
import { BACKFILL_MESSAGE } from "../pipeline/messages";
import type { VerifyDeps } from "../pipeline/verify";
import { docsPage, fetchChange, notifyApplied } from "../shard/client";
import { shardCount, shardOf } from "../shard/routing";

export function pipelineDeps(env: Env): ConsumerDeps {
  const topology = parseTopology(env);
  return {
    topology,
    dbs: indexDatabases(env as unknown as Record<string, unknown>, topology),
    indexConfig,
    fetchChange: async (shard, path) => (await fetchChange(env, shard, path)) as ResolvedChange,
    notifyShard: (shard, watermark) => notifyApplied(env, shard, watermark),
    notifyLive: (key, changes) => notifyLiveQuery(env, key, changes),
    requestBackfill: async () => {
      await env.CHANGES.send(BACKFILL_MESSAGE);
    },
  };
}

/** The index verifier's dependencies: the pipeline's, and the shards' documents page by page. */
export function verifyDeps(env: Env): VerifyDeps {
  const count = shardCount(env);
  return {
    ...pipelineDeps(env),
    shardOf: (path) => shardOf(path, count),
    docsPage: (shard, after, limit, collectionId) => docsPage(env, shard, after, limit, collectionId),
  };
}
