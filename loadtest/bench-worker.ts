/**
 * The Worker used by the benchmarks: Blaze itself, plus the baselines it is
 * measured against in the same run and through the same `wrangler dev` path:
 * - PUT /__bench/bare/{key}: a bare Durable Object SQLite write (16 objects),
 *   the floor for Blaze's write path;
 * - GET /__bench/d1-version?path=: a document's version in D1, to time index lag.
 * Never deployed: only loadtest/bench.mjs starts it.
 */
import { DurableObject } from "cloudflare:workers";
import blaze from "../engine/worker";
import { fnv1a32 } from "../engine/core/hash";

export { ShardDO } from "../engine/worker";

interface BenchEnv extends Env {
  BARE: DurableObjectNamespace<BareDO>;
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

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/__bench/bare/")) {
      const path = url.pathname.slice("/__bench/bare/".length);
      const body = await request.text();
      JSON.parse(body); // parse like the real path does
      const stub = env.BARE.get(env.BARE.idFromName(`bare-${fnv1a32(path) % 16}`));
      return Response.json(await stub.write(path, body));
    }
    if (url.pathname === "/__bench/d1-version") {
      const row = await env.DB.prepare(`SELECT version FROM documents WHERE path = ?`).bind(url.searchParams.get("path")).first<{ version: number }>();
      return Response.json({ version: row?.version ?? 0 });
    }
    return blaze.fetch(request, env, ctx);
  },
  queue: (batch, env) => blaze.queue(batch, env),
} satisfies ExportedHandler<BenchEnv>;
