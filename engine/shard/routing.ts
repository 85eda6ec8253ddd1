/**
 * Document path -> logical shard, and shard -> Durable Object stub.
 * The number of shards is fixed per deployment (wrangler.toml SHARD_COUNT).
 */
import type { AuthContext } from "../core/auth";
import { fnv1a32 } from "../core/hash";
import type { RpcResult } from "../core/errors";
import type { Change, DocumentSnapshot, Write, WriteResult } from "../core/writes";
import type { BatchOutcome, ShardWrites } from "./coordinator";
import type { PreparedResult } from "./doc-store";
import type { DocsPage } from "../index/verify";
import type { Idempotency } from "./idempotency";

export function shardCount(env: Pick<Env, "SHARD_COUNT">): number {
  const n = Number(env.SHARD_COUNT ?? 16);
  if (!Number.isInteger(n) || n < 1 || n > 4096) throw new Error(`SHARD_COUNT must be 1..4096, got ${env.SHARD_COUNT}`);
  return n;
}

export function shardOf(path: string, count: number): number {
  return fnv1a32(path) % count;
}

/**
 * The shard's RPC surface as callers see it. Spelled out rather than inferred
 * from the class: inferring RPC types over the recursive Value type is too
 * deep for TypeScript.
 */
/** A shard's part of GET /v1/status. */
export interface ShardStatus {
  headSeq: number;
  outboxDepth: number;
  /** Commit time (ms epoch) of the oldest change the index has not applied, or null. */
  oldestUnappliedAt: number | null;
}

export interface ShardApi {
  get(shard: number, path: string): Promise<RpcResult<DocumentSnapshot | null>>;
  commit(shard: number, writes: Write[], auth: AuthContext, idem?: Idempotency): Promise<RpcResult<WriteResult[]>>;
  fetchChange(shard: number, path: string): Promise<RpcResult<Change>>;
  docsPage(shard: number, after: string, limit: number, collectionId?: string): Promise<RpcResult<DocsPage>>;
  acked(shard: number, watermark: number): Promise<RpcResult<void>>;
  resendRange(shard: number, fromSeq: number, toSeq: number): Promise<RpcResult<number>>;
  trimLog(shard: number, before: number): Promise<RpcResult<number>>;
  lastSeq(shard: number): Promise<RpcResult<number>>;
  syncPoint(shard: number): Promise<RpcResult<number>>;
  status(shard: number, watermark: number): Promise<RpcResult<ShardStatus>>;
  runBatch(shard: number, txnId: string, groups: ShardWrites[], auth: AuthContext, idem?: Idempotency): Promise<RpcResult<BatchOutcome>>;
  prepare(shard: number, txnId: string, coordinator: number, writes: Write[], auth: AuthContext): Promise<RpcResult<PreparedResult[]>>;
  commitPrepared(shard: number, txnId: string): Promise<RpcResult<WriteResult[]>>;
  abortPrepared(shard: number, txnId: string): Promise<RpcResult<void>>;
  decide(shard: number, txnId: string): Promise<RpcResult<"committed" | "aborted" | "pending">>;
  routeLive(shard: number, queryKey: string, collectionId: string, query: string): Promise<RpcResult<boolean>>;
  unrouteLive(shard: number, queryKey: string): Promise<RpcResult<void>>;
  fetch(request: Request): Promise<Response>;
}

/**
 * Internal header on the relay's socket to a shard: the caller's AuthContext
 * as JSON, by which the shard judges that socket's document listeners. Always
 * set by the Worker (shard/client.ts), never taken from a client.
 */
export const AUTH_HEADER = "X-Blaze-Auth";

export function shardStub(env: Env, shard: number): ShardApi {
  return env.SHARDS.get(env.SHARDS.idFromName(`shard-${shard}`)) as unknown as ShardApi;
}
