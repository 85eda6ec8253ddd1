/**
 * Checks a presented API key: well-formed, known, not revoked, its secret's
 * hash equal (in constant time) to the stored one. Key rows are cached per
 * id for AUTH_CACHE_TTL_MS, unknown ids too, so revocation reaches every
 * isolate within seconds and garbage keys cost no D1 read each.
 */
import { BlazeError } from "../core/errors";
import { constantTimeEqual, hashSecret, parseKey, type KeyRole } from "./key-format";
import { findApiKey, type StoredKey } from "./key-store";
import { TtlCache } from "./ttl-cache";

const keyRows = new TtlCache<StoredKey | null>();

export interface VerifiedKey {
  id: string;
  role: KeyRole;
}

/** The key's id and role; UNAUTHENTICATED for anything else. */
export async function verifyApiKey(db: D1Database, presented: string): Promise<VerifiedKey> {
  const parsed = parseKey(presented);
  if (!parsed) throw new BlazeError("UNAUTHENTICATED", "malformed API key: expected blz_admin_<id>_<secret> or blz_client_<id>_<secret>");
  const row = await keyRows.get(parsed.id, () => findApiKey(db, parsed.id));
  // The same answer for an unknown id and a wrong secret: the id alone proves nothing.
  const invalid = new BlazeError("UNAUTHENTICATED", `invalid API key ${parsed.id}`);
  if (!row || row.role !== parsed.role) throw invalid;
  if (!constantTimeEqual(await hashSecret(parsed.secret), row.secretHash)) throw invalid;
  if (row.revokedAt !== null) throw new BlazeError("UNAUTHENTICATED", `API key ${parsed.id} was revoked`);
  return { id: row.id, role: row.role };
}
