/**
 * Builds the D1 statements that apply document changes to the index.
 * Idempotent and version-checked in SQL itself (not by a read first), so
 * redelivered, reordered or concurrently applied changes converge: a row is
 * only written when its shard seq is newer than what is there, a tombstone
 * stops an older write from resurrecting a deleted document, and index
 * entries are rewritten only for the version that won.
 * Composite entries (declared indexes) follow the same rules; fields exempt
 * in the config get no single-field entries.
 *
 * Few, large statements: D1 runs one statement at a time, and a statement's
 * fixed cost (its round through the batch, parsing, planning) dominated when
 * rows went 100 bound parameters at a time. Each table's rows travel as ONE
 * JSON text parameter, expanded in SQL with `json_each`; binary keys travel
 * as hex and become BLOBs again with `unhex()` (SQLite 3.41+; D1 has it),
 * documents' data as a nested JSON value (`->` gives back its text as sent,
 * minified JSON being kept verbatim). A statement's JSON is split in chunks
 * of at most APPLY_JSON_CHUNK_BYTES, well within D1's 2 MB per value; the
 * SQL text is a fixed template far below 100 KB, with one bound parameter.
 */
import { sql, type SQL } from "drizzle-orm";
import { parseDocumentPath } from "../core/paths";
import type { DocumentData } from "../core/values";
import type { Change } from "../core/writes";
import { compositeEntriesFor, compositeScope } from "./composite";
import { indexesFor, isExempt } from "./config";
import { EMPTY_INDEX_CONFIG, type CompositeIndex, type IndexConfig } from "./config-types";
import { encodeDocumentName } from "./encoding";
import { indexEntriesFor } from "./entries";
import { jsonChunks } from "./json-rows";
import { searchRowStatements } from "./search";

/** A change with its document resolved (no `byRef`). */
export type ResolvedChange = Change & { byRef?: undefined };

export { APPLY_JSON_CHUNK_BYTES, ApplyRowTooLargeError, D1_MAX_VALUE_BYTES, jsonChunks } from "./json-rows";

/** Keeps the newest change per path (a batch may carry several). */
export function latestPerPath<T extends Change>(changes: T[]): T[] {
  const latest = new Map<string, T>();
  for (const c of changes) {
    const prev = latest.get(c.path);
    if (!prev || c.seq > prev.seq) latest.set(c.path, c);
  }
  return [...latest.values()];
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Bytes as lowercase hex, for `unhex()` in SQL. */
export function toHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX[b[i]];
  return s;
}

/**
 * A repair (engine/pipeline/verify.ts): the changes are their shard's current
 * state, read when the shard's last seq was `head`. The seq guard still holds
 * (nothing newer than a change is touched), but the version a change names
 * is rewritten even when the index claims to hold it already (a row, an
 * entry or a full-text row changed behind the guard's back), and a tombstone that would hide a
 * live document although no delete of it up to `head` exists is removed.
 */
export interface RepairMode {
  head: number;
}

/** Statements that apply the given changes (newest per path) in order. */
export function applyStatements(changes: ResolvedChange[], config: IndexConfig = EMPTY_INDEX_CONFIG, repair?: RepairMode): SQL[] {
  const latest = latestPerPath(changes);
  const sets = latest.filter((c) => c.op === "set");
  const deletes = latest.filter((c) => c.op === "delete");
  const statements: SQL[] = [];
  // A repair's guards: same seq wins too (>=), and the rows of that seq are rewritten.
  const newer = repair ? sql`>=` : sql`>`;
  if (repair) {
    // A live document at seq s has no delete in s..head: such a tombstone is corrupt (a later one is a real, newer delete).
    for (const rows of jsonChunks(sets.map((c) => [c.path, c.seq]))) {
      // `path IN (...)` first: the primary key finds the rows (a correlated EXISTS alone would scan the table).
      statements.push(sql`DELETE FROM tombstones WHERE path IN (SELECT j.value ->> 0 FROM json_each(${rows}) AS j)
        AND seq >= (SELECT j.value ->> 1 FROM json_each(${rows}) AS j WHERE j.value ->> 0 = tombstones.path) AND seq <= ${repair.head}`);
    }
  }
  // Each path is parsed (and validated) once, not once per statement kind.
  const parsed = new Map(sets.map((c) => [c.path, parseDocumentPath(c.path)]));

  // [path, collection_path, collection_id, doc_id, data (nested JSON), version, create_time, update_time, shard, seq]
  const docRows = sets.map((c) => {
    const p = parsed.get(c.path)!;
    return [c.path, p.collectionPath, p.collectionId, p.id, c.data, c.version, c.createTime ?? c.updateTime, c.updateTime, c.shard, c.seq];
  });
  for (const rows of jsonChunks(docRows)) {
    statements.push(sql`INSERT INTO documents (path, collection_path, collection_id, doc_id, data, version, create_time, update_time, shard, seq)
      SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value -> 4, j.value ->> 5, j.value ->> 6, j.value ->> 7,
        j.value ->> 8, j.value ->> 9
      FROM json_each(${rows}) AS j
      WHERE NOT EXISTS (SELECT 1 FROM tombstones t WHERE t.path = j.value ->> 0 AND t.seq >= j.value ->> 9)
      ON CONFLICT(path) DO UPDATE SET collection_path = excluded.collection_path, collection_id = excluded.collection_id,
        doc_id = excluded.doc_id, data = excluded.data, version = excluded.version, create_time = excluded.create_time,
        update_time = excluded.update_time, shard = excluded.shard, seq = excluded.seq
      WHERE excluded.seq ${newer} documents.seq`);
  }

  // [path, shard, seq, delete_time]
  for (const rows of jsonChunks(deletes.map((c) => [c.path, c.shard, c.seq, c.updateTime]))) {
    statements.push(sql`INSERT INTO tombstones (path, shard, seq, delete_time)
      SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3 FROM json_each(${rows}) AS j WHERE true
      ON CONFLICT(path) DO UPDATE SET shard = excluded.shard, seq = excluded.seq, delete_time = excluded.delete_time
      WHERE excluded.seq > tombstones.seq`);
    statements.push(sql`DELETE FROM documents WHERE path IN (SELECT j.value ->> 0 FROM json_each(${rows}) AS j)
      AND seq ${repair ? sql`<=` : sql`<`} (SELECT t.seq FROM tombstones t WHERE t.path = documents.path)`);
  }
  if (repair) {
    // Entries of the versions up to each change's are written again below (a wrong or extra one goes).
    for (const rows of jsonChunks(latest.map((c) => [c.path, c.seq]))) {
      for (const table of [sql`index_entries`, sql`composite_entries`]) {
        statements.push(sql`DELETE FROM ${table} WHERE doc_path IN (SELECT j.value ->> 0 FROM json_each(${rows}) AS j)
          AND seq <= (SELECT j.value ->> 1 FROM json_each(${rows}) AS j WHERE j.value ->> 0 = ${table}.doc_path)`);
      }
    }
  }

  // Per document: [doc_path, seq, collection_path, collection_id, doc_key hex, [[field, kind, value hex], ...]];
  // the document's columns are not repeated per entry, a nested json_each expands the entries.
  const entryDocs: unknown[] = [];
  for (const c of sets) {
    const p = parsed.get(c.path)!;
    const exempt = config.exemptions.length ? (field: string) => isExempt(config, p.collectionId, field) : undefined;
    const entries = indexEntriesFor(c.data as DocumentData, { exempt, maxEntries: Number.POSITIVE_INFINITY });
    if (entries.length === 0) continue;
    const docKey = toHex(encodeDocumentName(c.path));
    entryDocs.push([c.path, c.seq, p.collectionPath, p.collectionId, docKey, entries.map((e) => [e.field, e.kind, toHex(e.value)])]);
  }
  for (const docs of jsonChunks(entryDocs)) {
    // An entry that stays (same field and value) only gets its seq moved:
    // cheaper than replacing the row, which would rewrite both its indexes.
    statements.push(sql`INSERT INTO index_entries (collection_path, collection_id, field, kind, value, doc_key, doc_path, seq)
      SELECT d.value ->> 2, d.value ->> 3, e.value ->> 0, e.value ->> 1, unhex(e.value ->> 2), unhex(d.value ->> 4), d.value ->> 0, d.value ->> 1
      FROM json_each(${docs}) AS d CROSS JOIN documents AS x CROSS JOIN json_each(d.value, '$[5]') AS e
      WHERE x.path = d.value ->> 0 AND x.seq = d.value ->> 1
      ON CONFLICT (doc_path, field, kind, value) DO UPDATE SET seq = excluded.seq`);
  }

  const compositeRows = sets.flatMap((c) =>
    compositeRowsFor(indexesFor(config, parsed.get(c.path)!.collectionId), { path: c.path, seq: c.seq, data: c.data as DocumentData }),
  );
  statements.push(...insertCompositeRows(compositeRows));

  // Entries of versions that lost, or of deleted documents.
  for (const paths of jsonChunks(latest.map((c) => c.path))) {
    statements.push(sql`DELETE FROM index_entries WHERE doc_path IN (SELECT value FROM json_each(${paths}))
      AND seq <> COALESCE((SELECT d.seq FROM documents d WHERE d.path = index_entries.doc_path), -1)`);
    statements.push(sql`DELETE FROM composite_entries WHERE doc_path IN (SELECT value FROM json_each(${paths}))
      AND seq <> COALESCE((SELECT d.seq FROM documents d WHERE d.path = composite_entries.doc_path), -1)`);
  }

  // Full-text rows, per search index of the changed collections (after the documents: they check its seq).
  for (const index of config.searchIndexes ?? []) {
    const here = latest.filter((c) => parsedId(c.path) === index.collectionGroup);
    // A repair goes through every search index: a row in one that does not cover the document is removed there.
    const touched = repair ? latest : here;
    if (touched.length === 0) continue;
    const docs = here.filter((c) => c.op === "set").map((c) => ({ path: c.path, seq: c.seq, data: c.data as DocumentData }));
    const upTo = repair ? touched.map((c): [string, number] => [c.path, c.seq]) : undefined;
    statements.push(...searchRowStatements(index, docs, touched.map((c) => c.path), upTo));
  }
  return statements;

  function parsedId(path: string): string {
    return (parsed.get(path) ?? parseDocumentPath(path)).collectionId;
  }
}

/**
 * A repair of documents their shard has no record of up to `head` (or that
 * belong in another index database): their rows here, none newer than
 * `head`, go; then their full-text rows that no longer match a document
 * row, as the consumer removes them.
 */
export function clearStatements(paths: string[], head: number, config: IndexConfig = EMPTY_INDEX_CONFIG): SQL[] {
  return [
    ...jsonChunks(paths).flatMap((list) => [
      sql`DELETE FROM documents WHERE path IN (SELECT value FROM json_each(${list})) AND seq <= ${head}`,
      sql`DELETE FROM tombstones WHERE path IN (SELECT value FROM json_each(${list})) AND seq <= ${head}`,
      sql`DELETE FROM index_entries WHERE doc_path IN (SELECT value FROM json_each(${list})) AND seq <= ${head}`,
      sql`DELETE FROM composite_entries WHERE doc_path IN (SELECT value FROM json_each(${list})) AND seq <= ${head}`,
    ]),
    ...(config.searchIndexes ?? []).flatMap((index) => searchRowStatements(index, [], paths)),
  ];
}

/** A composite_entries row: index_id, scope, key, doc_path, seq. */
export type CompositeRow = [string, string, Uint8Array, string, number];

/** The composite entry rows of one document version in the given indexes. */
export function compositeRowsFor(indexes: CompositeIndex[], doc: { path: string; seq: number; data: DocumentData }): CompositeRow[] {
  return indexes.flatMap((index) => {
    const scope = compositeScope(index, doc.path);
    return compositeEntriesFor(index, doc.path, doc.data).map((key): CompositeRow => [index.id, scope, key, doc.path, doc.seq]);
  });
}

/**
 * Inserts composite rows, each only if its document is still at that seq in
 * D1: a version that lost (or a backfill that read before a newer change)
 * writes nothing, and the newer version's own statements clean up after it.
 */
export function insertCompositeRows(rows: CompositeRow[]): SQL[] {
  const json = rows.map(([indexId, scope, key, path, seq]) => [indexId, scope, toHex(key), path, seq]);
  return jsonChunks(json).map(
    (part) => sql`INSERT INTO composite_entries (index_id, scope, key, doc_path, seq)
      SELECT j.value ->> 0, j.value ->> 1, unhex(j.value ->> 2), j.value ->> 3, j.value ->> 4 FROM json_each(${part}) AS j
      WHERE EXISTS (SELECT 1 FROM documents d WHERE d.path = j.value ->> 3 AND d.seq = j.value ->> 4)
      ON CONFLICT (index_id, scope, key) DO UPDATE SET doc_path = excluded.doc_path, seq = excluded.seq`,
  );
}
