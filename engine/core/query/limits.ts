/**
 * Limits of a query, named once. The Firestore ones follow Firestore's
 * published figures; the others are Blaze's own caps and say so.
 */
export const QUERY_LIMITS = {
  /** Firestore: a query has at most 30 disjunctions in disjunctive normal form,
   *  where `in` and `array-contains-any` count one disjunction per value. */
  maxDisjunctions: 30,
  /** Firestore: `in` and `array-contains-any` take at most 30 values. */
  maxInValues: 30,
  /** Firestore: `not-in` takes at most 10 values. */
  maxNotInValues: 10,
  /** Firestore: range and inequality filters may span at most 10 fields. */
  maxInequalityFields: 10,
  /** Firestore: field filters + orderBy entries + 1 for a subcollection's parent path. */
  maxClauses: 100,
  /** Blaze: field filters in one query, before expansion to normal form. */
  maxFilters: 100,
  /** Blaze: nesting of and/or inside one another. */
  maxFilterDepth: 20,
  /**
   * Blaze: groups in one answer of a group-by. A query without `limit` that
   * has more fails (RESOURCE_EXHAUSTED); with a `limit` up to this, `next`
   * pages through any number of groups.
   */
  maxGroups: 1000,
  /** Blaze: size of one filter operand as JSON (values are bound into SQL; D1 caps statement size). */
  maxOperandBytes: 16 * 1024,
} as const;

/**
 * Limits on a query body's shape (checked by ast.ts) and on one answer's
 * size (the executor). Apart from QUERY_LIMITS, which the SDK bundles for
 * the normalizer, so that the SDK does not carry these.
 */
export const QUERY_SHAPE_LIMITS = {
  /** Firestore: at most 5 aggregations in one aggregation query. */
  maxAggregations: 5,
  /** Blaze: the largest `limit` / `limitToLast`; page with cursors past it. */
  maxLimit: 10_000,
  /** Blaze: orderBy entries, explicit ones (an index can't usefully hold more). */
  maxOrderBy: 32,
  /** Blaze: fields in a `select` mask. */
  maxSelectFields: 100,
  /** Blaze: fields in one `groupBy`. */
  maxGroupByFields: 8,
  /** Blaze: characters of a search's text. */
  maxSearchTextChars: 1000,
} as const;

export const PAGE_LIMITS = {
  /** Blaze: documents in one answer of a query without `limit`; `next` continues. */
  defaultPageSize: 1000,
  /** Blaze: document data (JSON bytes) in one answer; past it the page ends early and `next` continues. */
  maxPageBytes: 16_777_216,
} as const;
