/**
 * Builds the D1 statements that apply document changes to the index.
 * Idempotent and version-checked in SQL itself (not by a read first), so
 * redelivered, reordered or concurrently applied changes converge: a row is
 * only written when its shard seq is newer than what is there, a tombstone
 * stops an older write from resurrecting a deleted document, and index
 * entries are rewritten only for the version that won.
 * Composite entries (declared indexes) follow the same rules; fields exempt
 * in the config get no single-field entries.
 * Every statement keeps within D1's 100 bound parameters.
 */
import { sql, type SQL } from "drizzle-orm";
import { PLATFORM } from "../core/limits";
import { parseDocumentPath } from "../core/paths";
import type { DocumentData } from "../core/values";
import type { Change } from "../core/writes";
import { compositeEntriesFor, compositeScope } from "./composite";
import { indexesFor, isExempt } from "./config";
import { EMPTY_INDEX_CONFIG, type CompositeIndex, type IndexConfig } from "./config-types";
import { encodeDocumentName } from "./encoding";
import { indexEntriesFor } from "./entries";

/** A change with its document resolved (no `byRef`). */
export type ResolvedChange = Change & { byRef?: undefined };

const MAX_PARAMS = PLATFORM.maxD1BoundParameters;

/** Keeps the newest change per path (a batch may carry several). */
export function latestPerPath(changes: ResolvedChange[]): ResolvedChange[] {
  const latest = new Map<string, ResolvedChange>();
  for (const c of changes) {
    const prev = latest.get(c.path);
    if (!prev || c.seq > prev.seq) latest.set(c.path, c);
  }
  return [...latest.values()];
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const values = (rows: unknown[][]) => sql.join(rows.map((r) => sql`(${sql.join(r.map((v) => sql`${v}`), sql`, `)})`), sql`, `);

/** Statements that apply the given changes (newest per path) in order. */
export function applyStatements(changes: ResolvedChange[], config: IndexConfig = EMPTY_INDEX_CONFIG): SQL[] {
  const latest = latestPerPath(changes);
  const sets = latest.filter((c) => c.op === "set");
  const deletes = latest.filter((c) => c.op === "delete");
  const statements: SQL[] = [];
  // Each path is parsed (and validated) once, not once per statement kind.
  const parsed = new Map(sets.map((c) => [c.path, parseDocumentPath(c.path)]));

  const docRows = sets.map((c) => {
    const p = parsed.get(c.path)!;
    return [c.path, p.collectionPath, p.collectionId, p.id, JSON.stringify(c.data), c.version, c.createTime ?? c.updateTime, c.updateTime, c.shard, c.seq];
  });
  for (const rows of chunk(docRows, Math.floor(MAX_PARAMS / 10))) {
    statements.push(sql`INSERT INTO documents (path, collection_path, collection_id, doc_id, data, version, create_time, update_time, shard, seq)
      SELECT * FROM (VALUES ${values(rows)}) AS v
      WHERE NOT EXISTS (SELECT 1 FROM tombstones t WHERE t.path = v.column1 AND t.seq >= v.column10)
      ON CONFLICT(path) DO UPDATE SET collection_path = excluded.collection_path, collection_id = excluded.collection_id,
        doc_id = excluded.doc_id, data = excluded.data, version = excluded.version, create_time = excluded.create_time,
        update_time = excluded.update_time, shard = excluded.shard, seq = excluded.seq
      WHERE excluded.seq > documents.seq`);
  }

  const tombRows = deletes.map((c) => [c.path, c.shard, c.seq, c.updateTime]);
  for (const rows of chunk(tombRows, Math.floor(MAX_PARAMS / 4))) {
    statements.push(sql`INSERT INTO tombstones (path, shard, seq, delete_time) VALUES ${values(rows)}
      ON CONFLICT(path) DO UPDATE SET shard = excluded.shard, seq = excluded.seq, delete_time = excluded.delete_time
      WHERE excluded.seq > tombstones.seq`);
    statements.push(sql`DELETE FROM documents WHERE path IN (${sql.join(rows.map((r) => sql`${r[0]}`), sql`, `)})
      AND seq < (SELECT t.seq FROM tombstones t WHERE t.path = documents.path)`);
  }

  const entryRows: unknown[][] = [];
  for (const c of sets) {
    const p = parsed.get(c.path)!;
    const docKey = encodeDocumentName(c.path);
    const exempt = config.exemptions.length ? (field: string) => isExempt(config, p.collectionId, field) : undefined;
    for (const e of indexEntriesFor(c.data as DocumentData, { exempt, maxEntries: Number.POSITIVE_INFINITY })) {
      entryRows.push([p.collectionPath, p.collectionId, e.field, e.kind, e.value, docKey, c.path, c.seq]);
    }
  }
  for (const rows of chunk(entryRows, Math.floor(MAX_PARAMS / 8))) {
    // An entry that stays (same field and value) only gets its seq moved:
    // cheaper than replacing the row, which would rewrite both its indexes.
    statements.push(sql`INSERT INTO index_entries (collection_path, collection_id, field, kind, value, doc_key, doc_path, seq)
      SELECT * FROM (VALUES ${values(rows)}) AS v
      WHERE EXISTS (SELECT 1 FROM documents d WHERE d.path = v.column7 AND d.seq = v.column8)
      ON CONFLICT (doc_path, field, kind, value) DO UPDATE SET seq = excluded.seq`);
  }

  const compositeRows = sets.flatMap((c) =>
    compositeRowsFor(indexesFor(config, parsed.get(c.path)!.collectionId), { path: c.path, seq: c.seq, data: c.data as DocumentData }),
  );
  statements.push(...insertCompositeRows(compositeRows));

  // Entries of versions that lost, or of deleted documents.
  for (const paths of chunk(latest.map((c) => c.path), MAX_PARAMS)) {
    const list = sql.join(paths.map((p) => sql`${p}`), sql`, `);
    statements.push(sql`DELETE FROM index_entries WHERE doc_path IN (${list})
      AND seq <> COALESCE((SELECT d.seq FROM documents d WHERE d.path = index_entries.doc_path), -1)`);
    statements.push(sql`DELETE FROM composite_entries WHERE doc_path IN (${list})
      AND seq <> COALESCE((SELECT d.seq FROM documents d WHERE d.path = composite_entries.doc_path), -1)`);
  }
  return statements;
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
  return chunk(rows, Math.floor(MAX_PARAMS / 5)).map(
    (part) => sql`INSERT INTO composite_entries (index_id, scope, key, doc_path, seq)
      SELECT * FROM (VALUES ${values(part)}) AS v
      WHERE EXISTS (SELECT 1 FROM documents d WHERE d.path = v.column4 AND d.seq = v.column5)
      ON CONFLICT (index_id, scope, key) DO UPDATE SET doc_path = excluded.doc_path, seq = excluded.seq`,
  );
}
