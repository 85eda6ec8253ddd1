/**
 * POST /v1/query: validate (ast.ts, normalize.ts), run against the D1 index
 * (query/executor.ts), answer `{ docs }`, `{ aggregates }` or `{ groups }`, plus `explain`
 * when the body asks for it.
 */
import { Hono } from "hono";
import { indexConfig } from "../../index/load-config";
import { indexDatabases, parseTopology } from "../../index/routing";
import { parseQuery } from "../../core/query/ast";
import { runQuery, type QueryDeps } from "../../query/executor";
import { resolveSearch } from "../../query/search-index-match";
import { superviseIndexBuilds } from "../../pipeline/backfill";
import { BACKFILL_MESSAGE } from "../../pipeline/messages";
import { syncToken } from "../../shard/client";
import { shardCount } from "../../shard/routing";
import { formatToken, mergeTokens, parseToken } from "../../core/tokens";
import { readJson } from "../request";
import { callerQuery } from "../access";
import type { AppEnv } from "../context";

export function queryDeps(env: Env): QueryDeps {
  const topology = parseTopology(env);
  const dbs = indexDatabases(env as unknown as Record<string, unknown>, topology);
  return {
    dbs,
    topology,
    config: indexConfig,
    meta: dbs[0],
    shardCount: shardCount(env),
    onIndexNotReady: () =>
      superviseIndexBuilds({ dbs, indexConfig, requestBackfill: async () => void (await env.CHANGES.send(BACKFILL_MESSAGE)) }),
  };
}

/** The caller's token (if any) merged with every shard's current sync point. */
async function strongAfter(env: Env, after: string | null): Promise<string | null> {
  const token = await syncToken(env);
  const merged = after === null ? token : mergeTokens(token, parseToken(after));
  return merged.size === 0 ? null : formatToken(merged);
}

export const queryRoutes = new Hono<AppEnv>().post("/", async (c) => {
  let nq = callerQuery(c.var.auth, resolveSearch(parseQuery(await readJson(c.req.raw)), indexConfig));
  if (nq.consistency === "strong") nq = { ...nq, after: await strongAfter(c.env, nq.after) };
  const result = await runQuery(queryDeps(c.env), nq);
  const body: Record<string, unknown> =
    nq.groups !== null ? { groups: result.groups } : nq.aggregate !== null ? { aggregates: result.aggregates } : { docs: result.docs };
  if (result.next) body.next = result.next;
  if (result.explain) body.explain = result.explain;
  return c.json(body);
});
