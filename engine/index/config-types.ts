/**
 * Index configuration types, in the spirit of firestore.indexes.json
 * (the file `blaze.indexes.json` at the project root). Parsed and validated by
 * engine/index/config.ts; used by the consumer (which entries to write) and by
 * the query planner (which indexes exist).
 */

export interface CompositeIndexField {
  /** Canonical field path (formatFieldPath). */
  fieldPath: string;
  /** Exactly one of order / arrayConfig, as in Firestore. */
  order?: "ASCENDING" | "DESCENDING";
  arrayConfig?: "CONTAINS";
}

export interface CompositeIndex {
  /** Stable id derived from the definition (scope + fields), used in D1 rows. */
  id: string;
  /** Collection id the index covers. */
  collectionGroup: string;
  /** COLLECTION: one collection path at a time; COLLECTION_GROUP: every collection with that id. */
  queryScope: "COLLECTION" | "COLLECTION_GROUP";
  fields: CompositeIndexField[];
}

/** A field exempt from automatic single-field indexing (fieldOverrides with `indexes: []`). */
export interface FieldExemption {
  collectionGroup: string;
  fieldPath: string;
}

/** How a search index splits text (FTS5 tokenizers). */
export type SearchTokenizer = "unicode61" | "trigram";

/**
 * A full-text search index (`searchIndexes` in blaze.indexes.json): one FTS5
 * table per index database (engine/index/search.ts), a column per field.
 */
export interface SearchIndex {
  /** Stable id derived from the definition: "si_" + 16 hex digits. */
  id: string;
  collectionGroup: string;
  queryScope: "COLLECTION" | "COLLECTION_GROUP";
  /** Canonical field paths, in declaration order (the FTS5 columns f0, f1, ...). */
  fields: string[];
  /** unicode61: words, case and diacritics folded (remove_diacritics 2); trigram: substrings of 3+ characters. */
  tokenizer: SearchTokenizer;
}

export interface IndexConfig {
  indexes: CompositeIndex[];
  exemptions: FieldExemption[];
  /** Declared full-text search indexes; absent: none. */
  searchIndexes?: SearchIndex[];
}

export const EMPTY_INDEX_CONFIG: IndexConfig = { indexes: [], exemptions: [] };
