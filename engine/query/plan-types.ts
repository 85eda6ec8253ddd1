/**
 * The planner's output: a QueryPlan of one SubPlan per conjunction, each a set
 * of scans over the documents table, single-field entries or a composite
 * index, with residual predicates and cursors. Shared by the planner modules,
 * sql.ts (which turns a plan into statements) and explain.ts.
 */
import type { CompositeIndex, IndexConfig, SearchIndex } from "../index/config-types";
import type { AggregateSpec, Direction, FieldFilter, FieldRef, NormalizedQuery, OrderSpec, QueryScope } from "../core/query/normalize";

export interface PlanContext {
  config: IndexConfig;
  /** Single-field exemptions; defaults to the config's fieldOverrides. */
  isExempt?(collectionId: string, fieldPath: string): boolean;
}

/** One end of a byte range; `bytes` is a complete encoding or a type's tag byte. */
export interface Bound {
  bytes: Uint8Array;
  inclusive: boolean;
}

/** A condition on one field's single-field entries of one kind (ascending encodings). */
export interface EntryPredicate {
  field: string;
  kind: "value" | "element";
  /** The entry is one of these (sorted); when set, the range and exclusions are already applied to them. */
  points: Uint8Array[] | null;
  lower: Bound | null;
  upper: Bound | null;
  exclude: Uint8Array[];
}

export interface NameBound {
  path: string;
  inclusive: boolean;
}

/** A condition on the document name (full paths). */
export interface NamePredicate {
  points: string[] | null;
  lower: NameBound | null;
  upper: NameBound | null;
  exclude: string[];
}

/** The documents table in name order. */
export interface DocumentsScan {
  index: "documents";
}

/** One field's single-field entries, read in (value, name) or in name order. */
export interface FieldScan {
  index: "field";
  predicate: EntryPredicate;
  order: "value" | "name";
}

/** A byte range of composite keys: `lo <= key < hi` (null: unbounded). */
export interface KeyRange {
  lo: Uint8Array | null;
  hi: Uint8Array | null;
}

/** A range of one composite index's keys within the query's scope. */
export interface CompositeScan {
  index: "composite";
  range: KeyRange;
  /** Key ranges left out (`!=` / `not-in` on the ranged field). */
  exclude: KeyRange[];
}

/** A search index's matches, best first (relevance order). */
export interface SearchScan {
  index: "search";
}

export type Scan = DocumentsScan | FieldScan | CompositeScan | SearchScan;

/** A cursor on a single-field scan ordered by value: (value, name) in query order. */
export interface TupleBound {
  value: Uint8Array;
  name: string | null;
  inclusive: boolean;
}

export type Rule = "documents" | "equality" | "single-field" | "composite" | "search";

/** How one conjunction of the DNF is read. */
export interface SubPlan {
  rule: Rule;
  filters: FieldFilter[];
  /** Each scan is one statement; their rows are merged in query order. */
  scans: Scan[];
  /** Checked per row by primary-key lookups on index_entries. */
  residual: EntryPredicate[];
  /** Filters and name-ordered cursors on the document name. */
  name: NamePredicate | null;
  /** Cursors of a value-ordered field scan (other scans fold them into name or key bounds). */
  start: TupleBound | null;
  end: TupleBound | null;
  /** Directions of the scan's order in query order (documents and field scans). */
  valueDirection: Direction;
  nameDirection: Direction;
  /** The composite index read, and whether it is read backwards. */
  composite: { index: CompositeIndex; reversed: boolean; scope: string } | null;
}

export interface QueryPlan {
  scope: QueryScope;
  orderBy: OrderSpec[];
  limit: NormalizedQuery["limit"];
  select: FieldRef[] | null;
  aggregate: AggregateSpec[] | null;
  /** Conjunctions that can match; none means the result is empty. */
  disjunctions: SubPlan[];
  /** Composite indexes the plan reads (the executor checks they are built). */
  indexes: CompositeIndex[];
  /**
   * A full-text search: the index, its MATCH expression, and whether it
   * drives the read in relevance order (a SearchScan) or is a condition on
   * every scan of an ordered plan.
   */
  search?: SearchPlan;
}

export interface SearchPlan {
  index: SearchIndex;
  match: string;
  relevance: boolean;
}

/** A composite index definition as written in blaze.indexes.json. */
export interface IndexDefinition {
  collectionGroup: string;
  queryScope: "COLLECTION" | "COLLECTION_GROUP";
  fields: ({ fieldPath: string; order: "ASCENDING" | "DESCENDING" } | { fieldPath: string; arrayConfig: "CONTAINS" })[];
}
