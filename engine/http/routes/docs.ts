/**
 * Document routes: PUT (set), POST (create with a generated id), PATCH
 * (update fields), GET, DELETE under /v1/docs/{path}. Writes take an
 * optional Idempotency-Key (engine/http/idempotency.ts).
 */
import { Hono } from "hono";
import { BlazeError } from "../../core/errors";
import { isDocumentPath, parseCollectionPath, parseDocumentPath } from "../../core/paths";
import { commitWrites, getDocument } from "../../shard/client";
import { idempotencyKey, newDocumentId } from "../idempotency";
import { ifVersionHeader, pathFromUrl, pathToUrl, readJson } from "../request";
import { deleteWrite, setWrite, updateWrite } from "../writes-schema";
import { authorizeRead } from "../access";
import type { AppEnv } from "../context";

const PREFIX = "/v1/docs/";

export const docRoutes = new Hono<AppEnv>()
  .get("/*", async (c) => {
    const path = parseDocumentPath(pathFromUrl(c.req.url, PREFIX)).path;
    const doc = await getDocument(c.env, path);
    // Judged before NOT_FOUND: a caller the rules refuse learns nothing, not even existence.
    authorizeRead(c.var.auth, path, doc?.data ?? null);
    if (!doc) throw new BlazeError("NOT_FOUND", `no document at ${path}`);
    return c.json(doc, 200, { ETag: `"${doc.version}"` });
  })
  .put("/*", async (c) => {
    const path = pathFromUrl(c.req.url, PREFIX);
    const merge = c.req.query("merge");
    if (merge !== undefined && merge !== "true" && merge !== "false") {
      throw new BlazeError("INVALID_ARGUMENT", `merge must be true or false, got ${merge}`);
    }
    const write = setWrite(path, await readJson(c.req.raw), { merge: merge === "true", ifVersion: ifVersionHeader(c.req.raw) });
    const { results } = await commitWrites(c.env, [write], c.var.auth, { idempotencyKey: idempotencyKey(c.req.raw, c.var.auth) });
    return c.json(results[0]);
  })
  .post("/*", async (c) => {
    const raw = pathFromUrl(c.req.url, PREFIX);
    if (isDocumentPath(raw)) {
      throw new BlazeError("INVALID_ARGUMENT", `POST creates a document in a collection; ${raw} is a document path (use PUT)`);
    }
    const collection = parseCollectionPath(raw).path;
    const key = idempotencyKey(c.req.raw, c.var.auth);
    const write = setWrite(`${collection}/${await newDocumentId(collection, key)}`, await readJson(c.req.raw), { ifVersion: 0 });
    const { results } = await commitWrites(c.env, [write], c.var.auth, { idempotencyKey: key });
    return c.json(results[0], 201, { Location: pathToUrl(PREFIX, results[0].path) });
  })
  .patch("/*", async (c) => {
    const path = pathFromUrl(c.req.url, PREFIX);
    const write = updateWrite(path, await readJson(c.req.raw), ifVersionHeader(c.req.raw));
    const { results } = await commitWrites(c.env, [write], c.var.auth, { idempotencyKey: idempotencyKey(c.req.raw, c.var.auth) });
    return c.json(results[0]);
  })
  .delete("/*", async (c) => {
    const write = deleteWrite(pathFromUrl(c.req.url, PREFIX), ifVersionHeader(c.req.raw));
    const { results } = await commitWrites(c.env, [write], c.var.auth, { idempotencyKey: idempotencyKey(c.req.raw, c.var.auth) });
    return c.json(results[0]);
  });
