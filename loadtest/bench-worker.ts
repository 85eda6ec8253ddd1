/**
 * The Worker used by the benchmarks: Blaze itself, plus the baselines it is
 * measured against in the same run and through the same `wrangler dev` path:
 * - PUT /__bench/bare/{key}: a bare Durable Object SQLite write (16 objects),
 *   the floor for Blaze's write path;
 * - GET /__bench/d1-version?path=: a document's version in D1, to time index lag;
 * - POST /__bench/seed: writes generated documents straight into the D1 index
 *   through the consumer's own statements (engine/index/apply.ts), fast;
 * - POST /__bench/plain-insert: the same documents and index rows as plain
 *   multi-row INSERTs of 100 bound parameters, unguarded (the physical floor
 *   the consumer's apply is measured against);
 *   both take `shape: "ingest"` for the ingest benchmark's documents, and
 *   send each row to its index database (INDEX_SHARDS), the databases in
 *   parallel;
 * - GET /__bench/count?collection=: documents of a collection in D1 (summed
 *   over the index databases);
 * - GET /__bench/queue-stats: queue batches, messages and changes this
 *   isolate's consumer has seen, and of those messages the ones the consumer
 *   found already applied (duplicates);
 * - POST /__bench/sql: runs one hand-written SQL query (the baseline for queries);
 * - GET /__bench/all?collection=: every document of a collection, the seed
 *   demo's fetch-everything-and-filter-on-the-client way;
 * - GET /__bench/fanout (WebSocket) and POST /__bench/fanout: a bare Durable
 *   Object holding hibernated sockets, and one message sent to all of them
 *   (the floor for a query listener's fan-out); with ?relay=worker a minimal
 *   relay in the Worker sits between each client and another such object, as
 *   /v1/listen does (the cost of the relay hop alone), and with ?relay=do the
 *   relay is a Durable Object per client that holds the client's socket
 *   hibernated (the alternative); a POST with the same ?relay reaches the
 *   sockets of that variant.
 * Never deployed: only loadtest/bench.mjs starts it.
 */
import { DurableObject } from "cloudflare:workers";
import blaze from "../engine/worker";
import { fnv1a32 } from "../engine/core/hash";
import { applyStatements, type ResolvedChange } from "../engine/index/apply";
import { ensureIndexBuilds } from "../engine/index/builds";
import { indexConfig } from "../engine/index/load-config";
import { runBatch } from "../engine/index/d1";
import { consumerHooks } from "../engine/pipeline/consumer";
import { parseDocumentPath } from "../engine/core/paths";
import { indexDatabases, indexShardOf, parseTopology } from "../engine/index/routing";
import { ingestDocument, searchDocument, seedDocument } from "./lib/seed-data";
import { encodeDocumentName, encodeValue } from "../engine/index/encoding";
import { indexEntriesFor } from "../engine/index/entries";
import { sql } from "drizzle-orm";
import type { Value } from "../engine/core/values";

import { ShardDO as EngineShardDO } from "../engine/worker";

export { LiveQueryDO } from "../engine/worker";

/**
 * The engine's shard, with its queue producer counted: changes handed to the
 * queue (first sends and resends) and when, so the ingest benchmark can tell
 * a backlog in the outboxes from one in the queue. Local DOs share the
 * Worker's isolate, so the counters are the ones /__bench/queue-stats reads.
 */
export class ShardDO extends EngineShardDO {
  constructor(ctx: DurableObjectState, env: Env) {
    const real = env.CHANGES;
    const counted = {
      send: (body: unknown, opts?: QueueSendOptions) => {
        queueStats.sentMessages++;
        queueStats.sentChanges += (body as { changes?: unknown[] } | null)?.changes?.length ?? 0;
        return real.send(body, opts);
      },
      sendBatch: (messages: Iterable<MessageSendRequest<unknown>>, opts?: QueueSendBatchOptions) => {
        for (const m of messages) {
          queueStats.sentMessages++;
          queueStats.sentChanges += (m.body as { changes?: unknown[] } | null)?.changes?.length ?? 0;
        }
        return real.sendBatch(messages, opts);
      },
    } as Queue;
    super(ctx, { ...env, CHANGES: counted });
  }
}

interface BenchEnv extends Env {
  BARE: DurableObjectNamespace<BareDO>;
  BARE_FANOUT: DurableObjectNamespace<BareFanoutDO>;
  BARE_RELAY: DurableObjectNamespace<BareRelayDO>;
}

export class BareDO extends DurableObject<BenchEnv> {
  constructor(ctx: DurableObjectState, env: BenchEnv) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS docs (path TEXT PRIMARY KEY, data TEXT, version INTEGER)`);
  }

  write(path: string, data: string): { path: string; version: number } {
    const row = this.ctx.storage.sql
      .exec<{ version: number }>(
        `INSERT INTO docs (path, data, version) VALUES (?, ?, 1)
         ON CONFLICT(path) DO UPDATE SET data = excluded.data, version = docs.version + 1 RETURNING version`,
        path, data,
      )
      .one();
    return { path, version: row.version };
  }
}

/**
 * The fan-out baseline: sockets accepted for hibernation, and a POST whose
 * body goes to every one of them, serialised once, as a live query
 * broadcasts a change.
 */
export class BareFanoutDO extends DurableObject<BenchEnv> {
  async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() === "websocket") {
      const pair = new WebSocketPair();
      this.ctx.acceptWebSocket(pair[1]);
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    const text = await request.text();
    const sockets = this.ctx.getWebSockets();
    for (const ws of sockets) ws.send(text);
    return Response.json({ sent: sockets.length });
  }

  // Hibernated sockets need the handler; clients send nothing.
  webSocketMessage(): void {}

  webSocketClose(ws: WebSocket, code: number): void {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
    } catch {
      // already closed
    }
  }
}

/** The client's socket ends in the Worker; every frame from the object is passed on (a relay with nothing else). */
async function relayTo(stub: DurableObjectStub, request: Request): Promise<Response> {
  const pair = new WebSocketPair();
  pair[1].accept();
  await pipeFrom(stub, request, pair[1]);
  return new Response(null, { status: 101, webSocket: pair[0] });
}

/** Opens `stub`'s socket and passes each of its frames on to `client`; either end closing closes both. */
async function pipeFrom(stub: DurableObjectStub, request: Request, client: WebSocket): Promise<void> {
  const upstream = (await stub.fetch(request)).webSocket!;
  upstream.accept();
  upstream.addEventListener("message", (e) => client.send(e.data));
  const closeBoth = () => {
    for (const ws of [client, upstream]) {
      try {
        ws.close(1000, "closed");
      } catch {
        // already closed
      }
    }
  };
  upstream.addEventListener("close", closeBoth);
  client.addEventListener("close", closeBoth);
}

/** The relay as a Durable Object per client: the client's socket hibernated in it, its frames from the fan-out object passed on. */
export class BareRelayDO extends DurableObject<BenchEnv> {
  async fetch(request: Request): Promise<Response> {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    await pipeFrom(this.env.BARE_FANOUT.get(this.env.BARE_FANOUT.idFromName("fanout-do")), request, pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  webSocketMessage(): void {}

  webSocketClose(ws: WebSocket): void {
    try {
      ws.close(1000, "closed");
    } catch {
      // already closed
    }
  }
}

const queueStats = { batches: 0, messages: 0, changes: 0, duplicates: 0, retried: 0, consumerMs: 0, maxConcurrentBatches: 0, sentMessages: 0, sentChanges: 0 };
// Consumer time per batch (wall clock, summed; batches may overlap) and duplicates.
const batchStarted = new WeakMap<object, number>();
let inFlight = 0;
consumerHooks.beforeBatch = async (batch) => {
  batchStarted.set(batch, performance.now());
  queueStats.maxConcurrentBatches = Math.max(queueStats.maxConcurrentBatches, ++inFlight);
};
consumerHooks.afterBatch = (batch, outcome) => {
  inFlight--;
  queueStats.duplicates += outcome.duplicates;
  queueStats.retried += outcome.retried;
  queueStats.consumerMs += performance.now() - (batchStarted.get(batch) ?? performance.now());
};

type Shape = "seed" | "ingest" | "search";

function benchChanges(collection: string, from: number, count: number, shape: Shape = "seed"): ResolvedChange[] {
  const now = new Date().toISOString();
  const changes: ResolvedChange[] = [];
  for (let i = from; i < from + count; i++) {
    changes.push({
      shard: 9999, seq: i + 1, path: `${collection}/d${String(i).padStart(7, "0")}`, op: "set", version: 1,
      data: shape === "ingest" ? ingestDocument(i) : shape === "search" ? searchDocument(i) : seedDocument(i, collection), createTime: now, updateTime: now, existed: false,
    });
  }
  return changes;
}

/** Plain multi-row INSERTs of the rows the consumer writes, 100 bound parameters each. */
function plainInserts(collection: string, changes: ResolvedChange[]) {
  const rows = (cols: number, values: unknown[][]) => {
    const per = Math.floor(100 / cols);
    const out = [];
    for (let i = 0; i < values.length; i += per) {
      out.push(sql.join(values.slice(i, i + per).map((r) => sql`(${sql.join(r.map((v) => sql`${v}`), sql`, `)})`), sql`, `));
    }
    return out;
  };
  const docs = changes.map((c) => [c.path, collection, collection, c.path.slice(collection.length + 1), JSON.stringify(c.data), 1, c.updateTime, c.updateTime, c.shard, c.seq]);
  const entries = changes.flatMap((c) =>
    indexEntriesFor(c.data!).map((e) => [collection, collection, e.field, e.kind, e.value, encodeDocumentName(c.path), c.path, c.seq]),
  );
  return [
    ...rows(10, docs).map((v) => sql`INSERT INTO documents (path, collection_path, collection_id, doc_id, data, version, create_time, update_time, shard, seq) VALUES ${v}`),
    ...rows(8, entries).map((v) => sql`INSERT INTO index_entries (collection_path, collection_id, field, kind, value, doc_key, doc_path, seq) VALUES ${v}`),
  ];
}

/** The changes grouped by the index database their rows go to. */
function perIndexDb(env: BenchEnv, changes: ResolvedChange[]): [D1Database, ResolvedChange[]][] {
  const topology = parseTopology(env);
  const dbs = indexDatabases(env as unknown as Record<string, unknown>, topology);
  const groups = dbs.map(() => [] as ResolvedChange[]);
  for (const c of changes) groups[indexShardOf(topology, parseDocumentPath(c.path).collectionId, c.path)].push(c);
  return groups.map((g, i) => [dbs[i], g] as [D1Database, ResolvedChange[]]).filter(([, g]) => g.length > 0);
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/__bench/queue-stats") return Response.json(queueStats);
    if (url.pathname === "/__bench/count") {
      const dbs = indexDatabases(env as unknown as Record<string, unknown>, parseTopology(env));
      const rows = await Promise.all(
        dbs.map((db) => db.prepare(`SELECT COUNT(*) AS n FROM documents WHERE collection_path = ?`).bind(url.searchParams.get("collection")).first<{ n: number }>()),
      );
      return Response.json({ count: rows.reduce((n, r) => n + (r?.n ?? 0), 0) });
    }
    if (url.pathname === "/__bench/plain-insert" && request.method === "POST") {
      const { collection, from, count, shape } = (await request.json()) as { collection: string; from: number; count: number; shape?: Shape };
      await Promise.all(perIndexDb(env, benchChanges(collection, from, count, shape)).map(([db, cs]) => runBatch(db, plainInserts(collection, cs))));
      return Response.json({ inserted: count });
    }
    if (url.pathname.startsWith("/__bench/bare/")) {
      const path = url.pathname.slice("/__bench/bare/".length);
      const body = await request.text();
      JSON.parse(body); // parse like the real path does
      const stub = env.BARE.get(env.BARE.idFromName(`bare-${fnv1a32(path) % 16}`));
      return Response.json(await stub.write(path, body));
    }
    if (url.pathname === "/__bench/fanout") {
      // Each variant has an object of its own: a POST reaches one set of sockets.
      const relay = url.searchParams.get("relay");
      const stub = env.BARE_FANOUT.get(env.BARE_FANOUT.idFromName(`fanout-${relay ?? "none"}`));
      if (request.headers.get("Upgrade") !== "websocket" || relay === null) return stub.fetch(request);
      if (relay === "do") return env.BARE_RELAY.get(env.BARE_RELAY.newUniqueId()).fetch(request);
      return relayTo(stub, request);
    }
    if (url.pathname === "/__bench/d1-version") {
      const row = await env.DB.prepare(`SELECT version FROM documents WHERE path = ?`).bind(url.searchParams.get("path")).first<{ version: number }>();
      return Response.json({ version: row?.version ?? 0 });
    }
    if (url.pathname === "/__bench/seed" && request.method === "POST") {
      const { collection, from, count, shape } = (await request.json()) as { collection: string; from: number; count: number; shape?: Shape };
      const t0 = performance.now();
      // The search shape is indexed as the consumer would with the deployment's config (its search index included),
      // declared first while the collection is empty, so the index is ready (and its FTS5 table exists).
      const config = shape === "search" ? indexConfig : undefined;
      if (config && from === 0) for (const db of indexDatabases(env as unknown as Record<string, unknown>, parseTopology(env))) await ensureIndexBuilds(db, config);
      const groups = perIndexDb(env, benchChanges(collection, from, count, shape)).map(([db, cs]) => [db, applyStatements(cs, config)] as const);
      const t1 = performance.now();
      await Promise.all(groups.map(([db, statements]) => runBatch(db, statements)));
      return Response.json({ seeded: count, buildMs: t1 - t0, runMs: performance.now() - t1 });
    }
    if (url.pathname === "/__bench/sql" && request.method === "POST") {
      const { sql, params } = (await request.json()) as { sql: string; params: unknown[] };
      // `{ encode: value }` binds the value's index encoding (engine/index/encoding.ts).
      const bound = params.map((p) => (typeof p === "object" && p && "encode" in p ? encodeValue((p as { encode: Value }).encode) : p));
      const { results } = await env.DB.prepare(sql).bind(...bound).all();
      return Response.json({ docs: results });
    }
    if (url.pathname === "/__bench/all") {
      const { results } = await env.DB.prepare(
        `SELECT path, doc_id AS id, data, version, create_time AS createTime, update_time AS updateTime FROM documents WHERE collection_path = ?`,
      )
        .bind(url.searchParams.get("collection"))
        .all<{ data: string }>();
      return Response.json(results.map((r) => ({ ...r, data: JSON.parse(r.data) })));
    }
    return blaze.fetch(request, env, ctx);
  },
  queue: (batch, env) => {
    queueStats.batches++;
    queueStats.messages += batch.messages.length;
    for (const m of batch.messages) queueStats.changes += (m.body as { changes?: unknown[] } | null)?.changes?.length ?? 0;
    return blaze.queue(batch, env);
  },
  scheduled: (controller, env) => blaze.scheduled(controller, env),
} satisfies ExportedHandler<BenchEnv>;

