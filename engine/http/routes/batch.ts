/** POST /v1/batch: up to 500 writes, all or nothing, across shards; an optional Idempotency-Key. */
import { Hono } from "hono";
import { commitWrites } from "../../shard/client";
import { idempotencyKey } from "../idempotency";
import { readJson } from "../request";
import { parseBatch } from "../writes-schema";
import type { AppEnv } from "../context";

export const batchRoutes = new Hono<AppEnv>().post("/", async (c) => {
  const writes = parseBatch(await readJson(c.req.raw));
  return c.json(await commitWrites(c.env, writes, c.var.auth, { idempotencyKey: idempotencyKey(c.req.raw, c.var.auth) }));
});
