/**
 * API keys in D1 (table api_keys, engine/index/schema.ts; the first index
 * shard): create, list, revoke, look up. The CLI (scripts/blaze.mjs) does
 * the same through `wrangler d1 execute`, with the same key format.
 */
import { sql } from "drizzle-orm";
import { all, prepare } from "../index/d1";
import { generateKey, type KeyRole } from "./key-format";

export interface StoredKey {
  id: string;
  role: KeyRole;
  name: string;
  secretHash: string;
  createdAt: string;
  revokedAt: string | null;
}

const COLUMNS = sql`id, role, name, secret_hash AS secretHash, created_at AS createdAt, revoked_at AS revokedAt`;

/** Creates a key; the returned `key` is the only copy of its secret. */
export async function createApiKey(db: D1Database, role: KeyRole, name = ""): Promise<{ id: string; key: string }> {
  const k = await generateKey(role);
  await prepare(db, sql`INSERT INTO api_keys (id, role, name, secret_hash, created_at) VALUES (${k.id}, ${role}, ${name}, ${k.secretHash}, ${new Date().toISOString()})`).run();
  return { id: k.id, key: k.key };
}

/** Marks a key revoked; false when there is no such active key. */
export async function revokeApiKey(db: D1Database, id: string): Promise<boolean> {
  const r = await prepare(db, sql`UPDATE api_keys SET revoked_at = ${new Date().toISOString()} WHERE id = ${id} AND revoked_at IS NULL`).run();
  return r.meta.changes > 0;
}

export async function findApiKey(db: D1Database, id: string): Promise<StoredKey | null> {
  const [row] = await all<StoredKey>(db, sql`SELECT ${COLUMNS} FROM api_keys WHERE id = ${id}`);
  return row ?? null;
}

export async function listApiKeys(db: D1Database): Promise<StoredKey[]> {
  return all<StoredKey>(db, sql`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id`);
}

export async function anyActiveAdminKey(db: D1Database): Promise<boolean> {
  const rows = await all(db, sql`SELECT 1 FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL LIMIT 1`);
  return rows.length > 0;
}
