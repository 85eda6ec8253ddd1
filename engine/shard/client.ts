/**
 * How the Worker talks to shards: route each write to its shard, run a batch
 * on one shard atomically or across shards with two-phase commit, and put the
 * results back in the order the client sent the writes.
 */
import { unwrap, type RpcResult } from "../core/errors";
import { formatToken, mergeTokens, parseToken } from "../core/tokens";
import type { Change, DocumentSnapshot, Write, WriteResult } from "../core/writes";
import { shardCount, shardOf, shardStub } from "./routing";

export async function getDocument(env: Env, path: string): Promise<DocumentSnapshot | null> {
  const shard = shardOf(path, shardCount(env));
  return call(() => shardStub(env, shard).get(shard, path));
}

export interface BatchResult {
  results: WriteResult[];
  /** One token covering every shard the batch wrote to. */
  token: string;
}

export async function commitWrites(env: Env, writes: Write[]): Promise<BatchResult> {
  const count = shardCount(env);
  const groups = new Map<number, { writes: Write[]; indices: number[] }>();
  writes.forEach((w, i) => {
    const shard = shardOf(w.path, count);
    const g = groups.get(shard) ?? { writes: [], indices: [] };
    g.writes.push(w);
    g.indices.push(i);
    groups.set(shard, g);
  });
  const shards = [...groups.keys()].sort((a, b) => a - b);
  let perGroup: WriteResult[][];
  if (shards.length === 1) {
    const shard = shards[0];
    perGroup = [await call(() => shardStub(env, shard).commit(shard, groups.get(shard)!.writes))];
  } else {
    const coordinator = shards[0];
    const txnId = crypto.randomUUID();
    const payload = shards.map((shard) => ({ shard, writes: groups.get(shard)!.writes }));
    perGroup = await call(() => shardStub(env, coordinator).runBatch(coordinator, txnId, payload));
  }
  const results: WriteResult[] = new Array(writes.length);
  shards.forEach((shard, gi) => groups.get(shard)!.indices.forEach((wi, k) => (results[wi] = perGroup[gi][k])));
  return { results, token: formatToken(mergeTokens(...results.map((r) => parseToken(r.token)))) };
}

/** Opens a listener socket on the shard that owns `shard`. */
export function connectListener(env: Env, shard: number, request: Request): Promise<Response> {
  const headers = new Headers(request.headers);
  headers.set("X-Blaze-Shard", String(shard));
  return shardStub(env, shard).fetch(new Request(request.url, { headers }));
}

/** The current state of a document as a change (the consumer's by-reference fetch). */
export async function fetchChange(env: Env, shard: number, path: string): Promise<Change> {
  return call(() => shardStub(env, shard).fetchChange(shard, path));
}

/** Tells a shard the index has applied its changes up to `watermark`. */
export async function notifyApplied(env: Env, shard: number, watermark: number): Promise<void> {
  return call(() => shardStub(env, shard).acked(shard, watermark));
}

/** Calls a shard; a BlazeError returned there is thrown here. */
async function call<T>(f: () => Promise<RpcResult<T>>): Promise<T> {
  return unwrap(await f());
}
