/**
 * The `Idempotency-Key` request header (IETF httpapi draft, as Stripe uses
 * it): optional on every write and batch. With it, the shard that commits
 * remembers the outcome (engine/shard/idempotency.ts), so a retry after a
 * lost answer applies nothing twice; a POST's generated id is derived from
 * the key, so its retry names the same document.
 */
import { principalOf, type AuthContext } from "../core/auth";
import { invalidArgument } from "../core/errors";
import { LIMITS } from "../core/limits";
import { derivedId, generateId } from "../core/paths";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";

/**
 * The request's key, or undefined; 1-255 printable ASCII characters. Scoped
 * to the caller: the same key from another caller is another key.
 */
export function idempotencyKey(request: Request, auth: AuthContext): string | undefined {
  const key = request.headers.get(IDEMPOTENCY_HEADER);
  if (key === null) return undefined;
  if (key.length === 0 || key.length > LIMITS.maxIdempotencyKeyLength || !/^[\x20-\x7e]+$/.test(key)) {
    throw invalidArgument(`${IDEMPOTENCY_HEADER} must be 1 to ${LIMITS.maxIdempotencyKeyLength} printable ASCII characters`);
  }
  return `${principalOf(auth)}\u0000${key}`;
}

/** The id a POST gives its new document: random, or from the key (a retry gets the same one). */
export function newDocumentId(collection: string, key: string | undefined): Promise<string> | string {
  return key === undefined ? generateId() : derivedId(`${collection}\u0000${key}`);
}
