/**
 * GET /v1/listen: a WebSocket for document listeners. Sockets live on shard
 * Durable Objects (hibernated), so a socket serves the documents of one
 * shard: pick it with `?doc=<path>` (the shard of that document) or
 * `?shard=<n>`. The SDK opens one socket per shard it needs.
 */
import { Hono } from "hono";
import { BlazeError, invalidArgument } from "../../core/errors";
import { parseDocumentPath } from "../../core/paths";
import { connectListener } from "../../shard/client";
import { shardCount, shardOf } from "../../shard/routing";
import type { AppEnv } from "../context";

export const listenRoutes = new Hono<AppEnv>().get("/", async (c) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    throw new BlazeError("FAILED_PRECONDITION", "GET /v1/listen expects a WebSocket upgrade (Upgrade: websocket)");
  }
  const count = shardCount(c.env);
  const doc = c.req.query("doc");
  const rawShard = c.req.query("shard");
  let shard: number;
  if (doc !== undefined) shard = shardOf(parseDocumentPath(doc).path, count);
  else if (rawShard !== undefined) {
    shard = Number(rawShard);
    if (!Number.isInteger(shard) || shard < 0 || shard >= count) throw invalidArgument(`shard must be an integer in 0..${count - 1}`);
  } else throw invalidArgument("GET /v1/listen needs ?doc=<document path> or ?shard=<n>");
  return connectListener(c.env, shard, c.req.raw);
});
