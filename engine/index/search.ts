/**
 * Full-text search indexes (`searchIndexes` in blaze.indexes.json) in D1.
 *
 * Each declared index has one FTS5 table per index database,
 * `search_<16 hex digits of its id>`, with a column per declared field
 * (f0, f1, ... in declaration order) holding the field's text
 * (core/query/text-search.ts `searchableText`). FTS5 tables cannot be
 * looked up by an ordinary column, so `search_rows` maps (index, document
 * path) to the FTS rowid and records the document seq the row was written
 * for. The statements follow apply.ts's rules: a row is written only for
 * the version the `documents` table holds (a change that lost, or a
 * backfill that read before a newer change, writes nothing), and a row
 * whose seq is no longer the document's (updated, deleted) is removed, so
 * redelivered and reordered changes converge.
 *
 * The tables are created when a consumer declares its config
 * (builds.ts, `CREATE VIRTUAL TABLE IF NOT EXISTS`) and dropped when an
 * index leaves the config (backfill.ts), like composite index builds.
 */
import { sql, type SQL } from "drizzle-orm";
import { getField, parseFieldPath } from "../core/field-path";
import { searchableText } from "../core/query/text-search";
import type { DocumentData } from "../core/values";
import type { SearchIndex } from "./config-types";
import { jsonChunks } from "./json-rows";

/** The FTS5 table of a search index (ids are "si_" + 16 hex digits, so the name needs no quoting). */
export function searchTable(id: string): SQL {
  if (!/^si_[0-9a-f]{16}$/.test(id)) throw new Error(`not a search index id: ${id}`);
  return sql.raw(`search_${id.slice(3)}`);
}

/** The FTS5 column of the index's i-th field. */
export const searchColumn = (i: number) => `f${i}`;

const TOKENIZE = { unicode61: "unicode61 remove_diacritics 2", trigram: "trigram" } as const;

export function createSearchTable(index: SearchIndex): SQL {
  const columns = index.fields.map((_, i) => searchColumn(i)).join(", ");
  return sql.raw(`CREATE VIRTUAL TABLE IF NOT EXISTS search_${index.id.slice(3)} USING fts5(${columns}, tokenize = '${TOKENIZE[index.tokenizer]}')`);
}

export function dropSearchTable(id: string): SQL {
  return sql`DROP TABLE IF EXISTS ${searchTable(id)}`;
}

/** A document version whose search rows to write. */
export interface SearchDoc {
  path: string;
  seq: number;
  data: DocumentData;
}

/** Each index's parsed field paths, parsed once, not once per document. */
const fieldSegments = new WeakMap<SearchIndex, string[][]>();

/** The text each of the index's fields gives a document (its FTS5 columns, in order). */
export function searchTexts(index: SearchIndex, data: DocumentData): string[] {
  let segments = fieldSegments.get(index);
  if (!segments) fieldSegments.set(index, (segments = index.fields.map((f) => parseFieldPath(f))));
  return segments.map((s) => searchableText(getField(data, s)));
}

/**
 * Statements that bring the index's rows for `paths` in line with the
 * documents table, writing rows for `docs` (each only if still the
 * document's version there). Paths of deleted documents lose their rows.
 *
 * `repair` (engine/index/apply.ts RepairMode): each path with the seq of its
 * change. The path's rows up to that seq go first and are written again, an
 * FTS row replacing whatever holds its rowid: a same-seq row is otherwise
 * kept as it is, so a corrupt text would never be fixed, and an FTS row
 * whose mapping row was lost would keep its text for a reused rowid.
 */
export function searchRowStatements(index: SearchIndex, docs: SearchDoc[], paths: string[], repair?: [string, number][]): SQL[] {
  const table = searchTable(index.id);
  const statements: SQL[] = [];
  // The FTS row by its rowid first, then the mapping.
  const remove = (ids: SQL) => [sql`DELETE FROM ${table} WHERE rowid IN (${ids})`, sql`DELETE FROM search_rows WHERE id IN (${ids})`];
  for (const part of jsonChunks(repair ?? [])) {
    statements.push(...remove(sql`SELECT r.id FROM search_rows r WHERE r.index_id = ${index.id} AND r.path IN (SELECT j.value ->> 0 FROM json_each(${part}) AS j)
      AND r.seq <= (SELECT j.value ->> 1 FROM json_each(${part}) AS j WHERE j.value ->> 0 = r.path)`));
  }
  // Rows of versions that lost or of deleted documents.
  for (const part of jsonChunks(paths)) {
    statements.push(...remove(sql`SELECT r.id FROM search_rows r WHERE r.index_id = ${index.id} AND r.path IN (SELECT value FROM json_each(${part}))
      AND r.seq <> COALESCE((SELECT d.seq FROM documents d WHERE d.path = r.path), -1)`));
  }
  // [path, seq, text of each field]
  const rows = docs.map((d) => [d.path, d.seq, ...searchTexts(index, d.data)]);
  const columns = sql.raw(index.fields.map((_, i) => searchColumn(i)).join(", "));
  const values = sql.raw(index.fields.map((_, i) => `j.value ->> ${i + 2}`).join(", "));
  for (const part of jsonChunks(rows)) {
    statements.push(sql`INSERT INTO search_rows (index_id, path, seq)
      SELECT ${index.id}, j.value ->> 0, j.value ->> 1 FROM json_each(${part}) AS j
      WHERE EXISTS (SELECT 1 FROM documents d WHERE d.path = j.value ->> 0 AND d.seq = j.value ->> 1)
      ON CONFLICT (index_id, path) DO NOTHING`);
    // A redelivery finds its row there already (same id): nothing is written twice.
    statements.push(sql`INSERT ${repair ? sql`OR REPLACE ` : sql``}INTO ${table} (rowid, ${columns})
      SELECT r.id, ${values} FROM json_each(${part}) AS j
      CROSS JOIN search_rows r ON r.index_id = ${index.id} AND r.path = j.value ->> 0 AND r.seq = j.value ->> 1
      ${repair ? sql`` : sql`WHERE NOT EXISTS (SELECT 1 FROM ${table} s WHERE s.rowid = r.id)`}`);
  }
  return statements;
}

export const isSearchIndexId = (id: string) => id.startsWith("si_");

/**
 * Empties an index's table and mapping while its build is still `dropping`
 * (a search index declared again during its drop; put before the statement
 * that restarts the build, so a build another isolate restarted is kept).
 */
export function clearSearchRows(id: string): SQL[] {
  const dropping = sql`EXISTS (SELECT 1 FROM index_builds WHERE index_id = ${id} AND state = 'dropping')`;
  return [sql`DELETE FROM ${searchTable(id)} WHERE ${dropping}`, sql`DELETE FROM search_rows WHERE index_id = ${id} AND ${dropping}`];
}
