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

export interface IndexConfig {
  indexes: CompositeIndex[];
  exemptions: FieldExemption[];
}

export const EMPTY_INDEX_CONFIG: IndexConfig = { indexes: [], exemptions: [] };
