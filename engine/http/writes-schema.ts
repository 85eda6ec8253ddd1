/**
 * Validation of writes at the edge (zod for shape, core for values and paths),
 * shared by the document routes and POST /v1/batch. After this a write is
 * well-formed; the shard still checks preconditions and the resulting size.
 */
import * as z from "zod";
import { invalidArgument } from "../core/errors";
import { LIMITS } from "../core/limits";
import { parseDocumentPath } from "../core/paths";
import { validateDocumentData } from "../core/values";
import type { Write } from "../core/writes";
import { parseFieldPath } from "../core/field-path";

const version = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const BatchWrite = z.discriminatedUnion("op", [
  z.object({ op: z.literal("set"), path: z.string(), data: z.unknown(), merge: z.boolean().optional(), ifVersion: version.optional() }).strict(),
  z.object({ op: z.literal("create"), path: z.string(), data: z.unknown() }).strict(),
  z.object({ op: z.literal("update"), path: z.string(), data: z.unknown(), ifVersion: version.optional() }).strict(),
  z.object({ op: z.literal("delete"), path: z.string(), ifVersion: version.optional() }).strict(),
]);

export const BatchBody = z
  .object({ writes: z.array(BatchWrite).min(1, "a batch needs at least one write").max(LIMITS.maxBatchWrites, `a batch holds at most ${LIMITS.maxBatchWrites} writes`) })
  .strict();

/** Turns zod issues into one INVALID_ARGUMENT naming the first problem. */
export function parseWith<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const first = r.error.issues[0];
  const where = first.path.length ? ` at ${first.path.join(".")}` : "";
  throw invalidArgument(`invalid ${what}${where}: ${first.message}`, { issues: r.error.issues });
}

export function setWrite(path: string, data: unknown, opts: { merge?: boolean; ifVersion?: number } = {}): Write {
  return {
    op: "set",
    path: parseDocumentPath(path).path,
    data: validateDocumentData(data, { allowTransforms: true, allowDelete: opts.merge === true }),
    ...(opts.merge ? { merge: true } : {}),
    ...(opts.ifVersion !== undefined ? { ifVersion: opts.ifVersion } : {}),
  };
}

export function updateWrite(path: string, data: unknown, ifVersion?: number): Write {
  const fields = validateDocumentData(data, { allowTransforms: true, allowDelete: true });
  if (Object.keys(fields).length === 0) throw invalidArgument("an update needs at least one field");
  for (const key of Object.keys(fields)) parseFieldPath(key);
  return { op: "update", path: parseDocumentPath(path).path, data: fields, ...(ifVersion !== undefined ? { ifVersion } : {}) };
}

export function deleteWrite(path: string, ifVersion?: number): Write {
  return { op: "delete", path: parseDocumentPath(path).path, ...(ifVersion !== undefined ? { ifVersion } : {}) };
}

export function parseBatch(body: unknown): Write[] {
  const { writes } = parseWith(BatchBody, body, "batch");
  return writes.map((w, i) => {
    try {
      switch (w.op) {
        case "set":
          return setWrite(w.path, w.data, w);
        case "create":
          return setWrite(w.path, w.data, { ifVersion: 0 });
        case "update":
          return updateWrite(w.path, w.data, w.ifVersion);
        case "delete":
          return deleteWrite(w.path, w.ifVersion);
      }
    } catch (e) {
      if (e instanceof Error && "code" in e) (e as Error).message = `writes[${i}]: ${e.message}`;
      throw e;
    }
  });
}
