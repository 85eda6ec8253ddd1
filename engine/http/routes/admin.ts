/**
 * Operator calls under /v1/admin (admin key only; docs/reliability.md).
 *
 * POST /v1/admin/replay-quarantined re-applies quarantined documents' current
 * state from their shards (engine/pipeline/quarantine.ts); `?shard=n` limits
 * it to one shard. Each call repairs up to REPLAY_BATCH documents and answers
 * `{ repaired, failed, left }`: call again while `left` shrinks.
 *
 * POST /v1/admin/verify compares one page of one shard's documents with the
 * index, and repairs the differences with `"repair": true`
 * (engine/pipeline/verify.ts). Body: `{ shard, after?, limit?, collection?,
 * repair? }`; the answer's `next` is the `after` of the shard's next page
 * (null after its last), `shards` how many shards there are.
 *
 * POST /v1/admin/dlq/replay sends the changes of dead-lettered messages back
 * into the pipeline (engine/pipeline/dead-letters.ts), up to
 * DLQ_REPLAY_BATCH per call: call again while `left` shrinks.
 *
 * POST /v1/admin/gc runs garbage collection now (engine/pipeline/gc.ts), as
 * the cron trigger does, and answers what it removed.
 */
import { Hono } from "hono";
import * as z from "zod";
import { invalidArgument } from "../../core/errors";
import { replayDeadLetters } from "../../pipeline/dead-letters";
import { collectGarbage } from "../../pipeline/gc";
import { replayQuarantined } from "../../pipeline/quarantine";
import { VERIFY_PAGE_DEFAULT, VERIFY_PAGE_MAX, verifyPage } from "../../pipeline/verify";
import { shardCount } from "../../shard/routing";
import { deadLetterDeps, gcDeps, pipelineDeps, verifyDeps } from "../pipeline-deps";
import { readJson } from "../request";
import { parseWith } from "../writes-schema";
import type { AppEnv } from "../context";

const VerifyBody = z
  .object({
    shard: z.number().int().min(0),
    after: z.string().default(""),
    limit: z.number().int().min(1).max(VERIFY_PAGE_MAX).default(VERIFY_PAGE_DEFAULT),
    collection: z.string().min(1).optional(),
    repair: z.boolean().default(false),
  })
  .strict();

export const adminRoutes = new Hono<AppEnv>()
  .post("/replay-quarantined", async (c) => {
    const raw = c.req.query("shard");
    const shard = raw === undefined ? undefined : Number(raw);
    if (shard !== undefined && !(Number.isSafeInteger(shard) && shard >= 0)) throw invalidArgument(`shard must be a shard number, not ${JSON.stringify(raw)}`);
    return c.json(await replayQuarantined(pipelineDeps(c.env), { shard }));
  })
  .post("/verify", async (c) => {
    const body = parseWith(VerifyBody, await readJson(c.req.raw), "verify request");
    const shards = shardCount(c.env);
    if (body.shard >= shards) throw invalidArgument(`shard must be below ${shards}, not ${body.shard}`);
    const page = await verifyPage(verifyDeps(c.env), { shard: body.shard, after: body.after, limit: body.limit, collectionId: body.collection, repair: body.repair });
    return c.json({ shards, ...page });
  })
  .post("/dlq/replay", async (c) => c.json(await replayDeadLetters(deadLetterDeps(c.env))))
  .post("/gc", async (c) => c.json(await collectGarbage(gcDeps(c.env))));
