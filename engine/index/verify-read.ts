/**
 * The index verifier's reads of one index database for one page of a shard's
 * documents (paths in `(after, upTo]`, `upTo` null for the shard's last page).
 * Two batches: the paths the page must look at (the shard's own, and rows
 * here in the range that claim the shard or have no document row), then, in
 * one batch so they are one consistent snapshot, every row of those paths.
 */
import { sql, type SQL } from "drizzle-orm";
import { jsonChunks } from "./apply";
import type { SearchIndex } from "./config-types";
import { runBatch } from "./d1";
import { searchColumn, searchTable } from "./search";
import type { IndexedRows } from "./verify";

export interface PageRange {
  shard: number;
  after: string;
  upTo: string | null;
  /** Only documents of this collection id. */
  collectionId?: string;
}

export interface RangeCandidates {
  /** Paths with a document or tombstone row claiming the shard. */
  claimed: string[];
  /** Paths with entries or rows of built search indexes but no document row (whichever shard they belong to: the caller filters). */
  orphaned: string[];
  /** Composite and search indexes built in this database. */
  ready: Set<string>;
}

/** The paths in the range this database has rows for (see RangeCandidates). */
export async function readRangeCandidates(db: D1Database, range: PageRange): Promise<RangeCandidates> {
  const within = (column: SQL) => sql`${column} > ${range.after}${range.upTo === null ? sql`` : sql` AND ${column} <= ${range.upTo}`}`;
  const collection = range.collectionId === undefined ? sql`` : sql` AND collection_id = ${range.collectionId}`;
  const [docs, tombstones, entries, composites, searched, builds] = await runBatch<{ path?: string; index_id?: string }>(db, [
    sql`SELECT path FROM documents WHERE ${within(sql`path`)} AND shard = ${range.shard}${collection}`,
    sql`SELECT path FROM tombstones WHERE ${within(sql`path`)} AND shard = ${range.shard}`,
    sql`SELECT DISTINCT doc_path AS path FROM index_entries WHERE ${within(sql`doc_path`)}${collection}
      AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.path = index_entries.doc_path)`,
    sql`SELECT DISTINCT doc_path AS path FROM composite_entries WHERE ${within(sql`doc_path`)}
      AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.path = composite_entries.doc_path)`,
    // index_id first: the (index_id, path) index finds the range.
    sql`SELECT DISTINCT path FROM search_rows WHERE index_id IN (SELECT index_id FROM index_builds WHERE state = 'ready') AND ${within(sql`path`)}
      AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.path = search_rows.path)`,
    sql`SELECT index_id FROM index_builds WHERE state = 'ready'`,
  ]);
  const paths = (rows: { path?: string }[]) => rows.map((r) => r.path!);
  return {
    claimed: [...paths(docs), ...paths(tombstones)],
    orphaned: [...paths(entries), ...paths(composites), ...paths(searched)],
    ready: new Set(builds.map((b) => b.index_id!)),
  };
}

/** Every row this database holds for the paths, as one snapshot; search rows of the given (built) search indexes only. */
export async function readIndexedRows(db: D1Database, paths: string[], search: SearchIndex[] = []): Promise<Map<string, IndexedRows>> {
  const out = new Map<string, IndexedRows>(paths.map((p) => [p, { doc: null, tombstone: null, entries: [], composites: [], search: [] }]));
  const chunks = jsonChunks(paths, 200_000);
  const statements = chunks.flatMap((list) => [
    sql`SELECT path, seq, version, data, create_time, update_time FROM documents WHERE path IN (SELECT value FROM json_each(${list}))`,
    sql`SELECT path, seq FROM tombstones WHERE path IN (SELECT value FROM json_each(${list}))`,
    sql`SELECT doc_path AS path, field, kind, hex(value) AS value, seq FROM index_entries WHERE doc_path IN (SELECT value FROM json_each(${list}))`,
    sql`SELECT doc_path AS path, index_id, scope, hex(key) AS key, seq FROM composite_entries WHERE doc_path IN (SELECT value FROM json_each(${list}))`,
    ...search.map((index) => searchRowsOf(index, list)),
  ]);
  const results = await runBatch<any>(db, statements);
  const stride = 4 + search.length;
  for (let i = 0; i < results.length; i += stride) {
    for (const r of results[i]) out.get(r.path)!.doc = r;
    for (const r of results[i + 1]) out.get(r.path)!.tombstone = r;
    for (const r of results[i + 2]) out.get(r.path)!.entries.push(r);
    for (const r of results[i + 3]) out.get(r.path)!.composites.push(r);
    search.forEach((index, k) => {
      for (const r of results[i + 4 + k]) {
        const texts = r.fts === null ? null : index.fields.map((_, f) => r[searchColumn(f)] as string);
        out.get(r.path)!.search.push({ index_id: index.id, seq: r.seq, texts });
      }
    });
  }
  return out;
}

/** A search index's rows for the paths with their FTS text (`fts` null: the FTS row is gone). */
function searchRowsOf(index: SearchIndex, list: string): SQL {
  const table = searchTable(index.id);
  const columns = sql.raw(index.fields.map((_, i) => `s.${searchColumn(i)}`).join(", "));
  return sql`SELECT r.path, r.seq, s.rowid AS fts, ${columns} FROM search_rows r LEFT JOIN ${table} s ON s.rowid = r.id
    WHERE r.index_id = ${index.id} AND r.path IN (SELECT value FROM json_each(${list}))`;
}
