/**
 * Which index config may write an index database. Isolates of two
 * deployments can run side by side for a while; one whose config lacks a
 * composite index would rewrite documents without its entries (and drop
 * them), after the backfill of the newer config had marked the index ready.
 * So each database records the config that owns it (table index_config: a
 * content hash and a generation), and every batch that writes the index
 * starts with `configGuard`, which fails the batch unless the hash is still
 * the writer's own: the batch is refused atomically, nothing of it lands.
 *
 * An isolate takes the database over on its first use of a config that
 * differs from the recorded one (the newest starter wins). Only then does
 * it declare its builds, so a backfill starts after every older writer is
 * fenced off and an index it marks ready keeps its entries.
 */
import { sql, type SQL } from "drizzle-orm";
import { BlazeError } from "../core/errors";
import type { IndexConfig } from "./config-types";
import { all, runBatch } from "./d1";

/** A batch refused because another index config has taken the database over: a newer consumer must apply it. */
export class StaleIndexConfigError extends BlazeError {
  constructor(hash: string) {
    super("UNAVAILABLE", `the index config changed (this consumer runs ${hash}); a consumer running the new config applies this`, { hash });
    this.name = "StaleIndexConfigError";
  }
}

/** A content hash of the config: equal configs (whatever their object or key order) hash alike. */
export async function configHash(config: IndexConfig): Promise<string> {
  const canonical = {
    indexes: config.indexes.map((i) => i.id).sort(),
    exemptions: config.exemptions.map((e) => `${e.collectionGroup}\u0000${e.fieldPath}`).sort(),
    // Only when declared, so a config without search indexes keeps the hash it had before they existed.
    ...(config.searchIndexes?.length ? { searchIndexes: config.searchIndexes.map((i) => i.id).sort() } : {}),
  };
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(canonical)));
  return [...new Uint8Array(digest).slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The first statement of every index-writing batch: fails it (CHECK
 * index_config_current) when the database belongs to another config. A
 * database no config has taken over yet has no row, and nothing to guard.
 */
export function configGuard(hash: string): SQL {
  return sql`UPDATE index_config SET current = (hash = ${hash}) WHERE id = 1`;
}

/** True for the error D1 raises when `configGuard` fails a batch. */
export function isConfigGuardFailure(e: unknown): boolean {
  return e instanceof Error && e.message.includes("index_config_current");
}

/**
 * Runs `run` with the guard statements to put first in its batch (none
 * without a hash: an unguarded caller); a guard failure becomes
 * StaleIndexConfigError.
 */
export async function withConfigGuard<T>(hash: string | undefined, run: (guard: SQL[]) => Promise<T>): Promise<T> {
  try {
    return await run(hash === undefined ? [] : [configGuard(hash)]);
  } catch (e) {
    if (hash !== undefined && isConfigGuardFailure(e)) throw new StaleIndexConfigError(hash);
    throw e;
  }
}

/** Runs a batch guarded by `hash`; returns each of `statements`' rows. */
export function runGuarded<T = Record<string, unknown>>(db: D1Database, hash: string, statements: SQL[]): Promise<T[][]> {
  return withConfigGuard(hash, async (guard) => (await runBatch<T>(db, [...guard, ...statements])).slice(guard.length));
}

export interface ConfigOwner {
  hash: string;
  generation: number;
}

/** Makes `hash` the owner of the database (a no-op if it is already); returns the owner after. */
export async function takeOverIndexConfig(db: D1Database, hash: string, now = new Date().toISOString()): Promise<ConfigOwner> {
  const [, [row]] = await runBatch<ConfigOwner>(db, [
    sql`INSERT INTO index_config (id, hash, generation, updated_at, current) VALUES (1, ${hash}, 1, ${now}, 1)
      ON CONFLICT(id) DO UPDATE SET hash = excluded.hash, generation = index_config.generation + 1, updated_at = excluded.updated_at, current = 1
      WHERE index_config.hash <> excluded.hash`,
    sql`SELECT hash, generation FROM index_config WHERE id = 1`,
  ]);
  return row;
}

/** The config that owns the database, or null if none has taken it over. */
export async function readConfigOwner(db: D1Database): Promise<ConfigOwner | null> {
  const [row] = await all<ConfigOwner>(db, sql`SELECT hash, generation FROM index_config WHERE id = 1`);
  return row ?? null;
}
