/**
 * How the Worker reaches live queries: the object of a canonical query
 * (named by its SHA-256), a listener socket to it, and the consumer's
 * notification call.
 */
import { upstreamRequest } from "../sockets/upstream-request";
import { unwrap, type RpcResult } from "../core/errors";
import { canonicalKey, type NormalizedQuery } from "../core/query/normalize";
import type { Change } from "../core/writes";

interface LiveQueryApi {
  changes(key: string, changes: Change[]): Promise<RpcResult<void>>;
  fetch(request: Request): Promise<Response>;
}

function liveStub(env: Env, key: string): LiveQueryApi {
  return env.LIVE_QUERIES.get(env.LIVE_QUERIES.idFromName(key)) as unknown as LiveQueryApi;
}

/** The name of a query's live object: identical queries, written any way, share it. */
export async function liveQueryKey(nq: NormalizedQuery): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalKey(nq)));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function connectLiveQuery(env: Env, key: string, request: Request): Promise<Response> {
  return liveStub(env, key).fetch(upstreamRequest(request, { "X-Blaze-Query-Key": key }));
}

export async function notifyLiveQuery(env: Env, key: string, changes: Change[]): Promise<void> {
  unwrap(await liveStub(env, key).changes(key, changes));
}
