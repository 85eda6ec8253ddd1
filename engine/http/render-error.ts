/**
 * The one place errors become responses: `{ error: { code, message, details? } }`
 * with the status of the code. Anything that is not a BlazeError is an
 * internal error: logged in full, answered without internals.
 */
import { BlazeError } from "../core/errors";

export function errorResponse(e: unknown): Response {
  const err = toBlazeError(e);
  return Response.json({ error: err.toJSON() }, { status: err.status });
}

export function toBlazeError(e: unknown): BlazeError {
  if (e instanceof BlazeError) return e;
  console.error("blaze: internal error", e);
  return new BlazeError("INTERNAL", "internal error");
}
