/**
 * The index verifier's reads of one index database for one page of a shard's
 * documents (paths in `(after, upTo]`, `upTo` null for the shard's last page).
 * Two batches: the paths the page must look at (the shard's own, and rows
 * here in the range that claim the shard or have no document row), then, in
 * one batch so they are one consistent snapshot, every row of those paths.
 */
import { sql, type SQL } from "drizzle-orm";
import { jsonChunks } from "./apply";
import { runBatch } from "./d1";
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
  /** Paths with entries but no document row (whichever shard they belong to: the caller filters). */
  orphaned: string[];
  /** Composite indexes built in this database. */
  ready: Set<string>;
}

/** The paths in the range this database has rows for (see RangeCandidates). */
export async function readRangeCandidates(db: D1Database, range: PageRange): Promise<RangeCandidates> {
  const within = (column: SQL) => sql`${column} > ${range.after}${range.upTo === null ? sql`` : sql` AND ${column} <= ${range.upTo}`}`;
  const collection = range.collectionId === undefined ? sql`` : sql` AND collection_id = ${range.collectionId}`;
  const [docs, tombstones, entries, composites, builds] = await runBatch<{ path?: string; index_id?: string }>(db, [
    sql`SELECT path FROM documents WHERE ${within(sql`path`)} AND shard = ${range.shard}${collection}`,
    sql`SELECT path FROM tombstones WHERE ${within(sql`path`)} AND shard = ${range.shard}`,
    sql`SELECT DISTINCT doc_path AS path FROM index_entries WHERE ${within(sql`doc_path`)}${collection}
      AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.path = index_entries.doc_path)`,
    sql`SELECT DISTINCT doc_path AS path FROM composite_entries WHERE ${within(sql`doc_path`)}
      AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.path = composite_entries.doc_path)`,
    sql`SELECT index_id FROM index_builds WHERE state = 'ready'`,
  ]);
  const paths = (rows: { path?: string }[]) => rows.map((r) => r.path!);
  return {
    claimed: [...paths(docs), ...paths(tombstones)],
    orphaned: [...paths(entries), ...paths(composites)],
    ready: new Set(builds.map((b) => b.index_id!)),
  };
}

/** Every row this database holds for the paths, as one snapshot. */
export async function readIndexedRows(db: D1Database, paths: string[]): Promise<Map<string, IndexedRows>> {
  const out = new Map<string, IndexedRows>(paths.map((p) => [p, { doc: null, tombstone: null, entries: [], composites: [] }]));
  const chunks = jsonChunks(paths, 200_000);
  const statements = chunks.flatMap((list) => [
    sql`SELECT path, seq, version, data, create_time, update_time FROM documents WHERE path IN (SELECT value FROM json_each(${list}))`,
    sql`SELECT path, seq FROM tombstones WHERE path IN (SELECT value FROM json_each(${list}))`,
    sql`SELECT doc_path AS path, field, kind, hex(value) AS value, seq FROM index_entries WHERE doc_path IN (SELECT value FROM json_each(${list}))`,
    sql`SELECT doc_path AS path, index_id, scope, hex(key) AS key, seq FROM composite_entries WHERE doc_path IN (SELECT value FROM json_each(${list}))`,
  ]);
  const results = await runBatch<any>(db, statements);
  for (let i = 0; i < results.length; i += 4) {
    for (const r of results[i]) out.get(r.path)!.doc = r;
    for (const r of results[i + 1]) out.get(r.path)!.tombstone = r;
    for (const r of results[i + 2]) out.get(r.path)!.entries.push(r);
    for (const r of results[i + 3]) out.get(r.path)!.composites.push(r);
  }
  return out;
}
