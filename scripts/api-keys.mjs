// API keys in a D1 database from Node (the CLI, `npm start`, benchmarks and
// e2e tests). The key format and hash are the Worker's own
// (engine/auth/key-format.ts, run here with Node's type stripping); only
// the hash is stored, the key is returned once.
import { generateKey, KEY_ROLES } from "../engine/auth/key-format.ts";
import { d1Execute, sqlString } from "./d1.mjs";

/** `target`: `{ remote?, persistTo?, config? }`, as d1Execute takes it. */
export async function createKey({ role, name = "", ...target }) {
  if (!KEY_ROLES.includes(role)) throw new Error(`--role must be one of ${KEY_ROLES.join(", ")}, not ${JSON.stringify(role)}`);
  const k = await generateKey(role);
  await d1Execute({
    ...target,
    sql: `INSERT INTO api_keys (id, role, name, secret_hash, created_at) VALUES (${sqlString(k.id)}, ${sqlString(role)}, ${sqlString(name)}, ${sqlString(k.secretHash)}, ${sqlString(new Date().toISOString())})`,
  });
  return { id: k.id, role, name, key: k.key };
}

export async function listKeys(target = {}) {
  return d1Execute({ ...target, sql: "SELECT id, role, name, created_at AS createdAt, revoked_at AS revokedAt FROM api_keys ORDER BY created_at, id" });
}

/** True when an active key was revoked; false when there is no such active key. */
export async function revokeKey(id, target = {}) {
  const rows = await d1Execute({
    ...target,
    sql: `UPDATE api_keys SET revoked_at = ${sqlString(new Date().toISOString())} WHERE id = ${sqlString(id)} AND revoked_at IS NULL RETURNING id`,
  });
  return rows.length > 0;
}

/** Whether a key id names an active key. */
export async function isActiveKey(id, target = {}) {
  const rows = await d1Execute({ ...target, sql: `SELECT id FROM api_keys WHERE id = ${sqlString(id)} AND revoked_at IS NULL` });
  return rows.length > 0;
}
