/**
 * Backfill of composite indexes declared after their documents were written:
 * walks the collection id's documents in path order from the build's cursor
 * and writes their entries with the consumer's own statements (apply.ts), so
 * the same seq guard holds: an entry is written only if its document is still
 * at the version that was read, and a newer change is never overwritten.
 * Each page's entries and the cursor move commit in one D1 batch, so a crash
 * or a duplicate run anywhere just repeats idempotent work.
 * Also deletes, in bounded chunks, the entries of indexes being dropped.
 */
import { sql } from "drizzle-orm";
import type { DocumentData } from "../core/values";
import { compositeRowsFor, insertCompositeRows } from "./apply";
import { declaredBuilds, type BuildState, type BuiltIndex } from "./builds";
import { dropSearchTable, isSearchIndexId, searchRowStatements } from "./search";
import type { IndexConfig } from "./config-types";
import { withConfigGuard } from "./config-owner";
import { all, prepare, runBatch } from "./d1";

/** Documents read per D1 query: each may be up to 1 MiB of JSON. */
export const BACKFILL_PAGE_DOCS = 50;
/** Entries of a dropped index deleted per statement. */
export const DROP_CHUNK_ROWS = 1000;

export interface BackfillProgress {
  /** Nothing left to build or drop for this config in this database. */
  done: boolean;
  /** Documents processed by this step. */
  docs: number;
}

/**
 * Processes up to `maxDocs` documents of building indexes (and a chunk of
 * each dropping one). With `hash`, every write is refused unless that config
 * owns the database (engine/index/config-owner.ts).
 */
export async function backfillStep(db: D1Database, config: IndexConfig, maxDocs: number, hash?: string): Promise<BackfillProgress> {
  const declared = new Map<string, BuiltIndex>(declaredBuilds(config).map((i) => [i.id, i]));
  const composite = new Map(config.indexes.map((i) => [i.id, i]));
  const search = new Map((config.searchIndexes ?? []).map((i) => [i.id, i]));
  const builds = await all<{ index_id: string; state: BuildState; cursor_path: string }>(
    db,
    sql`SELECT index_id, state, cursor_path FROM index_builds WHERE state <> 'ready' ORDER BY index_id`,
  );
  let docs = 0;
  for (const b of builds) {
    if (b.state === "dropping") {
      if (!declared.has(b.index_id)) await dropChunk(db, b.index_id, hash);
      continue;
    }
    const index = declared.get(b.index_id);
    // A build this config does not declare belongs to another config's ensureIndexBuilds.
    if (!index) continue;
    let cursor = b.cursor_path;
    while (docs < maxDocs) {
      const limit = Math.min(BACKFILL_PAGE_DOCS, maxDocs - docs);
      const page = await all<{ path: string; seq: number; data: string }>(
        db,
        sql`SELECT path, seq, data FROM documents WHERE collection_id = ${index.collectionGroup} AND path > ${cursor} ORDER BY path LIMIT ${limit}`,
      );
      docs += page.length;
      const finished = page.length < limit;
      const read = page.map((d) => ({ path: d.path, seq: d.seq, data: JSON.parse(d.data) as DocumentData }));
      const searched = search.get(index.id);
      const writes = searched
        ? searchRowStatements(searched, read, read.map((d) => d.path))
        : insertCompositeRows(read.flatMap((d) => compositeRowsFor([composite.get(index.id)!], d)));
      if (page.length > 0) cursor = page[page.length - 1].path;
      const now = new Date().toISOString();
      await withConfigGuard(hash, (guard) => runBatch(db, [
        ...guard,
        ...writes,
        // Only forward, and only while still building (a concurrent drop or re-add wins).
        sql`UPDATE index_builds SET cursor_path = MAX(cursor_path, ${cursor}), updated_at = ${now},
          state = ${finished ? sql`'ready'` : sql`state`}
          WHERE index_id = ${index.id} AND state = 'building'`,
      ]));
      if (finished) break;
    }
    if (docs >= maxDocs) break;
  }
  const left = await all<{ index_id: string; state: BuildState }>(db, sql`SELECT index_id, state FROM index_builds WHERE state <> 'ready'`);
  // Only count what this config can finish: a build it does not declare, or a
  // drop of an index it declares, waits for ensureIndexBuilds with that config.
  const pending = left.filter((r) => (r.state === "building") === declared.has(r.index_id));
  return { done: pending.length === 0, docs };
}

/** Deletes a chunk of a dropping index's entries; removes its build row once none are left. */
async function dropChunk(db: D1Database, indexId: string, hash: string | undefined): Promise<void> {
  const now = new Date().toISOString();
  const dropping = sql`EXISTS (SELECT 1 FROM index_builds WHERE index_id = ${indexId} AND state = 'dropping')`;
  // A search index's mapping rows go in chunks; its FTS5 table goes at once with the build row.
  const rows = isSearchIndexId(indexId)
    ? sql`DELETE FROM search_rows WHERE id IN (SELECT id FROM search_rows WHERE index_id = ${indexId} LIMIT ${DROP_CHUNK_ROWS}) AND ${dropping}`
    : sql`DELETE FROM composite_entries WHERE rowid IN (SELECT rowid FROM composite_entries WHERE index_id = ${indexId} LIMIT ${DROP_CHUNK_ROWS})
        AND ${dropping}`;
  const [deleted] = await withConfigGuard(hash, async (guard) => (await db.batch([
    ...guard.map((g) => prepare(db, g)),
    prepare(db, rows),
    prepare(db, sql`UPDATE index_builds SET updated_at = ${now} WHERE index_id = ${indexId} AND state = 'dropping'`),
  ])).slice(guard.length));
  if ((deleted.meta.changes ?? 0) < DROP_CHUNK_ROWS) {
    const last = [sql`DELETE FROM index_builds WHERE index_id = ${indexId} AND state = 'dropping'`];
    if (isSearchIndexId(indexId)) last.unshift(dropSearchTable(indexId));
    await withConfigGuard(hash, (guard) => runBatch(db, [...guard, ...last]));
  }
}
