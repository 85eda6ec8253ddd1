/**
 * Operator calls under /v1/admin. POST /v1/admin/replay-quarantined
 * re-applies quarantined documents' current state from their shards
 * (engine/pipeline/quarantine.ts); `?shard=n` limits it to one shard. Each
 * call repairs up to REPLAY_BATCH documents and answers
 * `{ repaired, failed, left }`: call again while `left` shrinks.
 */
import { Hono } from "hono";
import { invalidArgument } from "../../core/errors";
import { replayQuarantined } from "../../pipeline/quarantine";
import { pipelineDeps } from "../pipeline-deps";
import type { AppEnv } from "../context";

export const adminRoutes = new Hono<AppEnv>().post("/replay-quarantined", async (c) => {
  const raw = c.req.query("shard");
  const shard = raw === undefined ? undefined : Number(raw);
  if (shard !== undefined && !(Number.isSafeInteger(shard) && shard >= 0)) throw invalidArgument(`shard must be a shard number, not ${JSON.stringify(raw)}`);
  return c.json(await replayQuarantined(pipelineDeps(c.env), { shard }));
});
