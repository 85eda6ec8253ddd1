/**
 * The index verifier's comparison of full-text search rows (search.ts): what
 * one index database's built search indexes hold for a document, its
 * `search_rows` row and the FTS5 text behind it, against the text its
 * version's fields give. Pure; verify.ts calls it for each document.
 */
import { parseDocumentPath } from "../core/paths";
import type { DocumentData } from "../core/values";
import type { IndexConfig, SearchIndex } from "./config-types";
import { searchTexts } from "./search";

export const SEARCH_DIFFERENCE_KINDS = [
  /** A live document of the index's collection group has no row. */
  "search_missing",
  /** The row is of another seq than the document's version. */
  "search_stale",
  /** The row is at the version's seq, but its FTS text is not what the fields give, or its FTS row is gone. */
  "search_mismatch",
  /** A row for a document deleted or absent here, or of a collection the index does not cover. */
  "search_extra",
] as const;
export type SearchDifferenceKind = (typeof SEARCH_DIFFERENCE_KINDS)[number];

/** A document's row in one search index. */
export interface SearchRow {
  index_id: string;
  seq: number;
  /** The FTS5 columns (f0, f1, ...); null when the FTS row is gone. */
  texts: string[] | null;
}

export interface SearchFinding {
  kind: SearchDifferenceKind;
  /** Search indexes with this kind of difference for the document. */
  count: number;
  detail: string;
}

/** The config's search indexes that are built (`ready`) in this database: only their rows are compared. */
export function readySearchIndexes(config: IndexConfig, ready: Set<string>): SearchIndex[] {
  return (config.searchIndexes ?? []).filter((i) => ready.has(i.id));
}

/**
 * Compares a document's rows in `indexes` (rows of other indexes are not
 * looked at) with `live`, its version here (null: deleted, absent, or in
 * another index database). One finding per kind, counting the indexes.
 */
export function compareSearchRows(path: string, live: { seq: number; data: DocumentData } | null, rows: SearchRow[], indexes: SearchIndex[]): SearchFinding[] {
  const { collectionId } = parseDocumentPath(path);
  const have = new Map(rows.map((r) => [r.index_id, r]));
  const found = new Map<SearchDifferenceKind, string[]>();
  const add = (kind: SearchDifferenceKind, why: string) => found.set(kind, [...(found.get(kind) ?? []), why]);
  for (const index of indexes) {
    const row = have.get(index.id);
    if (live === null || index.collectionGroup !== collectionId) {
      if (row) add("search_extra", `${index.id} has a row (seq ${row.seq}) for a document ${live ? `of a collection it does not cover` : "deleted or absent here"}`);
      continue;
    }
    if (!row) add("search_missing", `${index.id} has no row for seq ${live.seq}`);
    else if (row.seq !== live.seq) add("search_stale", `${index.id} has a row of seq ${row.seq}, the document is at seq ${live.seq}`);
    else if (row.texts === null) add("search_mismatch", `${index.id}: the FTS row of seq ${live.seq} is gone`);
    else {
      const want = searchTexts(index, live.data);
      const differ = index.fields.filter((_, i) => row.texts![i] !== want[i]);
      if (differ.length) add("search_mismatch", `${index.id}: the text of ${differ.join(", ")} differs from seq ${live.seq}'s`);
    }
  }
  return [...found].map(([kind, why]) => ({ kind, count: why.length, detail: why.join("; ") }));
}
