/**
 * The pipeline's dependencies on a deployment (index databases, its index
 * config, the shards, the live queries, the change queue), for the queue
 * handler and for the admin routes that drive the pipeline (quarantine
 * replay, the index verifier, dead-letter replay, garbage collection). Here because it reaches every floor below the Worker.
 */
import type { ResolvedChange } from "../index/apply";
import { indexConfig } from "../index/load-config";
import { indexDatabases, parseTopology } from "../index/routing";
import { notifyLiveQuery } from "../live/client";
import type { ConsumerDeps } from "../pipeline/consumer";
import { BACKFILL_MESSAGE } from "../pipeline/messages";
import type { VerifyDeps } from "../pipeline/verify";
import type { DeadLetterDeps } from "../pipeline/dead-letters";
import { retentionMs, type GcDeps } from "../pipeline/gc";
import { docsPage, fetchChange, notifyApplied, resendRange, trimShardLog } from "../shard/client";
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
    requestBackfill: () => requestBackfill(env),
  };
}

const requestBackfill = async (env: Env) => {
  await env.CHANGES.send(BACKFILL_MESSAGE);
};

/** A dead-letter replay's dependencies: the meta database, the shards' outboxes, the backfill. */
export function deadLetterDeps(env: Env): DeadLetterDeps {
  const topology = parseTopology(env);
  return {
    meta: indexDatabases(env as unknown as Record<string, unknown>, topology)[0],
    resend: (shard, fromSeq, toSeq) => resendRange(env, shard, fromSeq, toSeq),
    requestBackfill: () => requestBackfill(env),
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

/** Garbage collection's dependencies: every index database, every shard, the retention (GC_RETENTION_DAYS). */
export function gcDeps(env: Env): GcDeps {
  const topology = parseTopology(env);
  return {
    dbs: indexDatabases(env as unknown as Record<string, unknown>, topology),
    shardIds: Array.from({ length: shardCount(env) }, (_, i) => i),
    retentionMs: retentionMs(env.GC_RETENTION_DAYS),
    trimShardLog: (shard, before) => trimShardLog(env, shard, before),
  };
}
