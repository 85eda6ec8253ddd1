/**
 * GET /v1/listen: one WebSocket per client for all its listeners, relayed
 * by the Worker to the shards that serve them (sockets/relay.ts).
 * Internal route, admin only: `?doc=<path>` or `?shard=<n>` connects
 * straight to one shard's hibernated sockets.
 */
import { Hono } from "hono";
import { BlazeError, invalidArgument } from "../../core/errors";
import { parseDocumentPath } from "../../core/paths";
import { connectListener } from "../../shard/client";
import { ListenRelay, type ResolvedQuery } from "../../sockets/relay";
import { connectLiveQuery, liveQueryKey } from "../../live/client";
import { parseQuery } from "../../core/query/ast";
import { planQuery } from "../../query/planner";
import { liveSearchOrder, resolveSearch } from "../../query/search-index-match";
import { indexConfig } from "../../index/load-config";
import { shardCount, shardOf } from "../../shard/routing";
import type { AuthContext } from "../../core/auth";
import { callerQueryAst } from "../access";
import { normalizeQuery } from "../../core/query/normalize";
import { requireAdmin } from "../../auth/authenticate";
import { LISTEN_PROTOCOL, offeredProtocols, presentedCredentials } from "../../auth/credentials";
import { SocketCredentials } from "../../auth/socket-credentials";
import { watchCredentials } from "../../auth/socket-watch";
import type { AppEnv } from "../context";

/**
 * A query listener's query, checked as POST /v1/query checks it (the same
 * INVALID_ARGUMENT and FAILED_PRECONDITION, on that listener only), with the
 * caller's list rule ANDed in, named by its canonical key. The live-query
 * object is given this query, never the client's own.
 */
async function resolveLiveQuery(auth: AuthContext, body: unknown): Promise<ResolvedQuery> {
  const query = callerQueryAst(auth, liveSearchOrder(resolveSearch(parseQuery(body), indexConfig)));
  const nq = normalizeQuery(query);
  if (nq.after !== null) throw invalidArgument('a query listener takes no "after": it is strongly consistent from its first snapshot');
  if (nq.groups !== null) throw invalidArgument("a query listener takes no groupBy: group-by aggregates are not live; run them with POST /v1/query");
  planQuery(nq, { config: indexConfig });
  return { key: await liveQueryKey(nq), query };
}

/** Terminates the client's socket here and relays its listeners to the shards and live queries. */
function relayClient(env: Env, request: Request, credentials: SocketCredentials, headers: HeadersInit): Response {
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  server.accept();
  const count = shardCount(env);
  const relay = new ListenRelay(server, {
    shardOf: (path) => shardOf(path, count),
    // The socket's caller now: an auth message may have replaced it.
    resolveQuery: (query) => resolveLiveQuery(credentials.auth, query),
    authenticate: (msg, listened) => credentials.replace(msg, listened),
    authenticated: () => credentials.authenticated,
    connect: async (target) => {
      const res = target.startsWith("shard:")
        ? await connectListener(env, Number(target.slice(6)), request, credentials.auth)
        : await connectLiveQuery(env, target.slice(6), request);
      const ws = res.webSocket;
      if (!ws) throw new Error(`${target} did not accept a socket (status ${res.status})`);
      ws.accept();
      return {
        send: (data) => ws.send(data),
        close: (code, reason) => ws.close(code, reason),
        onMessage: (cb) => ws.addEventListener("message", (e) => typeof e.data === "string" && cb(e.data)),
        onClose: (cb) => {
          ws.addEventListener("close", cb);
          ws.addEventListener("error", cb);
        },
      };
    },
  });
  // A revoked key ends the socket, an expired JWT its listeners, within seconds (engine/auth/socket-watch.ts).
  const stopWatching = watchCredentials(credentials, { revoked: (e) => relay.fail(e), expired: (e) => relay.expire(e) });
  server.addEventListener("message", (e) => relay.fromClient(e.data));
  server.addEventListener("close", () => {
    stopWatching();
    relay.close();
    try {
      server.close(1000, "closed");
    } catch {
      // already closed
    }
  });
  server.addEventListener("error", () => {
    stopWatching();
    relay.close();
  });
  return new Response(null, { status: 101, webSocket: client, headers });
}

/**
 * The answer to the subprotocols a client offers: `blaze.v1`, the only one
 * there is (never a `blaze.auth.*` credential, which must not come back in
 * a response). A client that offers protocols must offer it.
 */
function protocolHeaders(request: Request): Record<string, string> {
  const offered = offeredProtocols(request);
  if (offered.length === 0) return {};
  if (!offered.includes(LISTEN_PROTOCOL)) {
    throw invalidArgument(`GET /v1/listen speaks the subprotocol ${LISTEN_PROTOCOL}: offer it (Sec-WebSocket-Protocol: ${LISTEN_PROTOCOL}, ...)`);
  }
  return { "Sec-WebSocket-Protocol": LISTEN_PROTOCOL };
}

export const listenRoutes = new Hono<AppEnv>().get("/", async (c) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    throw new BlazeError("FAILED_PRECONDITION", "GET /v1/listen expects a WebSocket upgrade (Upgrade: websocket)");
  }
  const headers = protocolHeaders(c.req.raw);
  const count = shardCount(c.env);
  const doc = c.req.query("doc");
  const rawShard = c.req.query("shard");
  // Straight to a shard, past the relay (and the rules it applies): operators and tests only.
  if (doc !== undefined || rawShard !== undefined) requireAdmin(c.var.auth, "GET /v1/listen?doc= / ?shard= (the internal listen routes)");
  let shard: number;
  if (doc !== undefined) shard = shardOf(parseDocumentPath(doc).path, count);
  else if (rawShard !== undefined) {
    shard = Number(rawShard);
    if (!Number.isInteger(shard) || shard < 0 || shard >= count) throw invalidArgument(`shard must be an integer in 0..${count - 1}`);
  } else return relayClient(c.env, c.req.raw, new SocketCredentials(c.env, presentedCredentials(c.req.raw), c.var.auth), headers);
  const res = await connectListener(c.env, shard, c.req.raw, c.var.auth);
  return res.webSocket ? new Response(null, { status: 101, webSocket: res.webSocket, headers }) : res;
});
