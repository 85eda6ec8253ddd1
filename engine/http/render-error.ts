/**
 * The one place errors become responses: `{ error: { code, message, details? } }`
 * with the status of the code. Anything that is not a BlazeError is an
 * internal error: logged in full, answered without internals.
 */
import { BlazeError } from "../core/errors";

export function errorResponse(e: unknown): Response {
  const err = toBlazeError(e);
  const headers: Record<string, string> = {};
  // A refusal that says when to come back (index backpressure) says it in HTTP too.
  const retryAfterMs = (err.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  if (typeof retryAfterMs === "number") headers["Retry-After"] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  return Response.json({ error: err.toJSON() }, { status: err.status, headers });
}

export function toBlazeError(e: unknown): BlazeError {
  if (e instanceof BlazeError) return e;
  console.error("blaze: internal error", e);
  return new BlazeError("INTERNAL", "internal error");
}
