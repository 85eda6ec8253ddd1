/**
 * Build state of composite indexes, per index database (table index_builds).
 * The consumer brings the table in line with its config once per isolate
 * (ensureIndexBuilds); the planner asks indexReady before it reads an index,
 * because a building index is missing the entries of older documents.
 */
import { sql, type SQL } from "drizzle-orm";
import { BlazeError } from "../core/errors";
import type { IndexConfig } from "./config-types";
import { clearSearchRows, createSearchTable, isSearchIndexId } from "./search";
import { withConfigGuard } from "./config-owner";
import { all, prepare } from "./d1";

export type BuildState = "building" | "ready" | "dropping";

/** What a build is about: a composite or search index, by its id and collection id. */
export interface BuiltIndex {
  id: string;
  collectionGroup: string;
}

/** Every index of the config that is built (composite and search). */
export function declaredBuilds(config: IndexConfig): BuiltIndex[] {
  return [...config.indexes, ...(config.searchIndexes ?? [])];
}

/**
 * New indexes start `building` (or `ready` at once if this database holds no
 * document of their collection id yet: nothing to backfill); an index that
 * was being dropped and is declared again is built again; indexes no longer
 * declared become `dropping`. `pending`: a backfill has work to do.
 * `claimed`: this call changed the table (started or restarted work); of
 * several isolates declaring the same config at once, only one claims it,
 * so only one starts a backfill chain. With `hash`, the batch is refused
 * unless that config owns the database.
 */
export async function ensureIndexBuilds(db: D1Database, config: IndexConfig, hash?: string): Promise<{ pending: boolean; claimed: boolean }> {
  const rows = await all<{ index_id: string; state: BuildState }>(db, sql`SELECT index_id, state FROM index_builds`);
  const have = new Map(rows.map((r) => [r.index_id, r.state]));
  const builds = declaredBuilds(config);
  const declared = new Set(builds.map((i) => i.id));
  const now = new Date().toISOString();
  // Search tables first: the consumer's apply batches write them once the config is declared.
  const statements: SQL[] = (config.searchIndexes ?? []).map(createSearchTable);
  for (const index of builds) {
    const state = have.get(index.id);
    if (state !== undefined && state !== "dropping") continue;
    // A search index declared again while its drop was under way starts from empty rows.
    if (state === "dropping" && isSearchIndexId(index.id)) statements.push(...clearSearchRows(index.id));
    // ON CONFLICT: another isolate may have inserted it meanwhile; only a dropping row restarts.
    statements.push(sql`INSERT INTO index_builds (index_id, state, cursor_path, updated_at)
      VALUES (${index.id}, CASE WHEN EXISTS (SELECT 1 FROM documents WHERE collection_id = ${index.collectionGroup}) THEN 'building' ELSE 'ready' END, '', ${now})
      ON CONFLICT(index_id) DO UPDATE SET state = excluded.state, cursor_path = '', updated_at = excluded.updated_at
      WHERE index_builds.state = 'dropping'`);
  }
  for (const [id, state] of have) {
    if (!declared.has(id) && state !== "dropping") {
      statements.push(sql`UPDATE index_builds SET state = 'dropping', cursor_path = '', updated_at = ${now} WHERE index_id = ${id}`);
    }
  }
  // Guarded when the caller owns the database for this config (engine/index/config-owner.ts).
  const results = await withConfigGuard(hash, async (guard) =>
    (
      await db.batch<{ n: number }>(
        [...guard, ...statements, sql`SELECT COUNT(*) AS n FROM index_builds WHERE state <> 'ready'`].map((q) => prepare(db, q)),
      )
    ).slice(guard.length),
  );
  const claimed = results.slice(0, -1).some((r) => (r.meta?.changes ?? 0) > 0);
  return { pending: (results[results.length - 1].results?.[0]?.n ?? 0) > 0, claimed };
}

/**
 * Claims the restart of stalled builds: stamps them as touched now, so the
 * isolates that find them stalled at the same time restart one chain, not
 * one each. True if this call claimed any.
 */
export async function claimStalledBuilds(db: D1Database, before: string, now: string): Promise<boolean> {
  const r = await prepare(db, sql`UPDATE index_builds SET updated_at = ${now} WHERE state <> 'ready' AND updated_at < ${before}`).run();
  return (r.meta?.changes ?? 0) > 0;
}

/**
 * True if the index can serve queries from this database. Given only an id,
 * an index with no build row is not ready (no consumer has declared it here
 * yet); given the index, it is also ready if no document of its collection id
 * exists here (nothing can be missing).
 */
export async function indexReady(db: D1Database, index: string | BuiltIndex): Promise<boolean> {
  const id = typeof index === "string" ? index : index.id;
  const collectionId = typeof index === "string" ? null : index.collectionGroup;
  const [row] = await all<{ state: BuildState | null; has_docs: number }>(
    db,
    sql`SELECT (SELECT state FROM index_builds WHERE index_id = ${id}) AS state,
      ${collectionId === null ? sql`1` : sql`EXISTS (SELECT 1 FROM documents WHERE collection_id = ${collectionId})`} AS has_docs`,
  );
  if (row.state !== null) return row.state === "ready";
  return row.has_docs === 0;
}

/** Throws FAILED_PRECONDITION "index is building" unless the index is ready in this database. */
export async function assertIndexReady(db: D1Database, index: BuiltIndex): Promise<void> {
  if (!(await indexReady(db, index))) {
    throw new BlazeError("FAILED_PRECONDITION", `index is building: ${index.id} on ${index.collectionGroup}; retry when its backfill is done`, {
      index: index.id,
    });
  }
}
