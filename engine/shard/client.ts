/**
 * How the Worker talks to shards: route each write to its shard, run a batch
 * on one shard atomically or across shards with two-phase commit, and put the
 * results back in the order the client sent the writes.
 */
import { upstreamRequest } from "../sockets/upstream-request";
import type { AuthContext } from "../core/auth";
import { BlazeError, unwrap, type RpcResult } from "../core/errors";
import { formatToken, mergeTokens, parseToken, type WriteToken } from "../core/tokens";
import type { Change, DocumentSnapshot, Write, WriteResult } from "../core/writes";
import type { PendingResult } from "./coordinator";
import type { DocsPage } from "../index/verify";
import { AUTH_HEADER, shardCount, shardOf, shardStub, type ShardStatus } from "./routing";

export async function getDocument(env: Env, path: string): Promise<DocumentSnapshot | null> {
  const shard = shardOf(path, shardCount(env));
  return call(() => shardStub(env, shard).get(shard, path));
}

export interface BatchResult {
  /** In request order. A write of `pendingShards` has no token yet (`pending: true`). */
  results: (WriteResult | PendingResult)[];
  /** One token covering every shard that has applied the batch. */
  token: string;
  /** Committed, but these shards apply it a little later (their alarm re-drives it). */
  pendingShards?: number[];
}

/**
 * Commits writes (one shard: one transaction; several: two-phase commit).
 * With an idempotency key, the committing shard (for several, the
 * coordinator) remembers the outcome, and a repeat gets it back unapplied.
 * The shards judge each write by the rules as `auth` (an admin bypasses them).
 */
export async function commitWrites(env: Env, writes: Write[], auth: AuthContext, opts: { idempotencyKey?: string } = {}): Promise<BatchResult> {
  const idem = opts.idempotencyKey === undefined ? undefined : { key: opts.idempotencyKey, fingerprint: await fingerprint(writes) };
  const committing = { keyed: idem !== undefined };
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
  let perGroup: (WriteResult | PendingResult)[][];
  let pendingShards: number[] = [];
  if (shards.length === 1) {
    const shard = shards[0];
    perGroup = [await call(() => shardStub(env, shard).commit(shard, groups.get(shard)!.writes, auth, idem), committing)];
  } else {
    const coordinator = shards[0];
    const txnId = crypto.randomUUID();
    const payload = shards.map((shard) => ({ shard, writes: groups.get(shard)!.writes }));
    ({ results: perGroup, pendingShards } = await call(() => shardStub(env, coordinator).runBatch(coordinator, txnId, payload, auth, idem), committing));
  }
  const results: (WriteResult | PendingResult)[] = new Array(writes.length);
  shards.forEach((shard, gi) => groups.get(shard)!.indices.forEach((wi, k) => (results[wi] = perGroup[gi][k])));
  const tokens = results.flatMap((r) => ("token" in r ? [parseToken(r.token)] : []));
  return { results, token: formatToken(mergeTokens(...tokens)), ...(pendingShards.length ? { pendingShards } : {}) };
}

/** Opens a listener socket on the shard that owns `shard`, for `auth`'s listeners. */
export function connectListener(env: Env, shard: number, request: Request, auth: AuthContext): Promise<Response> {
  return shardStub(env, shard).fetch(upstreamRequest(request, { "X-Blaze-Shard": String(shard), [AUTH_HEADER]: JSON.stringify(auth) }));
}

/** The current state of a document as a change (the consumer's by-reference fetch). */
export async function fetchChange(env: Env, shard: number, path: string): Promise<Change> {
  return call(() => shardStub(env, shard).fetchChange(shard, path));
}

/** A page of a shard's documents in path order, for the index verifier. */
export async function docsPage(env: Env, shard: number, after: string, limit: number, collectionId?: string): Promise<DocsPage> {
  return call(() => shardStub(env, shard).docsPage(shard, after, limit, collectionId));
}

/**
 * A token for everything acknowledged so far on every shard: a query that
 * waits for it sees every write acknowledged to any client before this call.
 */
export async function syncToken(env: Env): Promise<WriteToken> {
  const shards = Array.from({ length: shardCount(env) }, (_, i) => i);
  const seqs = await Promise.all(shards.map((shard) => call(() => shardStub(env, shard).syncPoint(shard))));
  return new Map(shards.map((s, i) => [s, seqs[i]] as [number, number]).filter(([, seq]) => seq > 0));
}

/** A shard's head, outbox and oldest unapplied change, given the index's watermark for it. */
export async function shardStatus(env: Env, shard: number, watermark: number): Promise<ShardStatus> {
  return call(() => shardStub(env, shard).status(shard, watermark));
}

/** Has a shard send its outbox rows in `fromSeq..toSeq` again now (a dead-letter replay); how many it holds. */
export async function resendRange(env: Env, shard: number, fromSeq: number, toSeq: number): Promise<number> {
  return call(() => shardStub(env, shard).resendRange(shard, fromSeq, toSeq));
}

/** Has a shard drop its change-log rows committed before `before` (ms epoch), once applied; how many went. */
export async function trimShardLog(env: Env, shard: number, before: number): Promise<number> {
  return call(() => shardStub(env, shard).trimLog(shard, before));
}

/** Tells a shard the index has applied its changes up to `watermark`. */
export async function notifyApplied(env: Env, shard: number, watermark: number): Promise<void> {
  return call(() => shardStub(env, shard).acked(shard, watermark));
}

/**
 * Registers (or renews) a live query's direct route on every shard
 * (engine/shard/live-routes.ts); returns how many shards took it. A shard
 * that cannot be reached or is full leaves that query to the consumer there.
 */
export async function routeLiveQuery(env: Env, queryKey: string, collectionId: string, query: string): Promise<number> {
  const shards = Array.from({ length: shardCount(env) }, (_, i) => i);
  const took = await Promise.allSettled(shards.map((shard) => call(() => shardStub(env, shard).routeLive(shard, queryKey, collectionId, query))));
  return took.filter((r) => r.status === "fulfilled" && r.value).length;
}

/** Removes a live query's direct route from every shard (best effort: the leases run out anyway). */
export async function unrouteLiveQuery(env: Env, queryKey: string): Promise<void> {
  const shards = Array.from({ length: shardCount(env) }, (_, i) => i);
  await Promise.allSettled(shards.map((shard) => call(() => shardStub(env, shard).unrouteLive(shard, queryKey))));
}

/** What identifies a keyed request's writes: a repeat must carry the same ones. */
async function fingerprint(writes: Write[]): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(writes)));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Calls a shard; a BlazeError returned there is thrown here. A failure of the
 * call itself maps to the contract: an overloaded object to
 * RESOURCE_EXHAUSTED (the call never ran), a lost call to UNAVAILABLE. A
 * commit lost that way may have been applied, so its answer says "retry"
 * only when the request carried an idempotency key, which makes a retry safe.
 */
async function call<T>(f: () => Promise<RpcResult<T>>, commit?: { keyed: boolean }): Promise<T> {
  let r: RpcResult<T>;
  try {
    r = await f();
  } catch (e) {
    const flags = e as { overloaded?: boolean; retryable?: boolean };
    if (flags?.overloaded) throw new BlazeError("RESOURCE_EXHAUSTED", "a shard is overloaded; retry with backoff");
    if (commit) throw lostCommit(commit.keyed, e);
    if (flags?.retryable) throw new BlazeError("UNAVAILABLE", "a shard could not be reached; retry");
    throw e;
  }
  return unwrap(r);
}

function lostCommit(keyed: boolean, cause: unknown): BlazeError {
  console.warn("blaze: a shard did not answer a commit", cause);
  return keyed
    ? new BlazeError("UNAVAILABLE", "the shard did not answer; the write may have been applied: retry with the same Idempotency-Key (it applies at most once)", { applied: "unknown" })
    : new BlazeError("UNAVAILABLE", "the shard did not answer; the write may have been applied, so retrying it could apply it twice (send an Idempotency-Key to make retries safe)", { applied: "unknown" });
}
