/**
 * Validates a parsed query against Firestore's rules and puts it in one
 * canonical form, the NormalizedQuery that the planner, the in-memory
 * evaluator and the live-query registry all consume.
 *
 * Rules encoded here (Firestore's, unless marked Blaze):
 * - Scope: `collection` is a collection path; `collectionGroup` a single id.
 * - Filters become disjunctive normal form: an OR of conjunctions (ANDs of
 *   field filters), duplicates removed, everything sorted. No filter is
 *   `[[]]`, one empty conjunction, which matches every document.
 * - At most 30 disjunctions in DNF, where an `in` or `array-contains-any`
 *   counts one disjunction per value (`a in [1,2] AND b in [1,2,3]` is 6).
 *   The normal form keeps `in` / `array-contains-any` as single filters; the
 *   expansion only counts.
 * - `in` / `array-contains-any` take a non-empty array of at most 30 values,
 *   `not-in` a non-empty array of at most 10.
 * - `<`, `<=`, `>`, `>=` do not take null (only `==` and `!=` do).
 * - At most one `array-contains` or `array-contains-any` per conjunction.
 * - At most one `not-in` per query, and `not-in` is not combined with `!=`,
 *   `in`, `array-contains-any` or an `or` (a DNF of more than one conjunction).
 *   Several `!=` filters are allowed: design.md lets range and `!=` filters
 *   span several fields (Firestore's JS SDK still refuses two `!=`).
 * - Range and inequality filters (`< <= > >= != not-in`) may be on at most 10
 *   distinct fields.
 * - `__name__` (the document name) takes `== != < <= > >= in not-in` with
 *   document ids or paths, normalized to `{"$ref": path}`: for a collection
 *   query an id resolves against the collection and a path must name a
 *   document directly in it; a collection group takes full document paths.
 *   The same holds for cursor values at a `__name__` position.
 * - Order: the explicit orderBy (no field twice), then every inequality field
 *   not already ordered, in field-path order, then `__name__`; the implicit
 *   entries take the direction of the last explicit one (asc if none). This
 *   is Firestore's rule since range filters on several fields: the first
 *   orderBy no longer has to be the inequality field.
 * - Cursors hold at most one value per resolved orderBy entry (a prefix is
 *   fine), and none past `__name__` (Blaze: names are unique, no index
 *   orders past them); `startAt`/`startAfter` and `endAt`/`endBefore` are
 *   each one bound.
 * - `limitToLast` needs an explicit orderBy. `limit` and `limitToLast` are
 *   positive integers up to 10,000 (Blaze's cap) and not both.
 * - Aggregations: 1 to 5; `sum`/`avg`/`min`/`max` name a field other than `__name__`.
 * - groupBy (Blaze): 1 to 8 distinct fields, not `__name__`, with an
 *   aggregate; no orderBy, limitToLast or startAt/endAt/endBefore; `limit`
 *   counts groups (at most 1,000) and `startAfter` is a group key prefix.
 *   `select` is a field mask; a path already covered by a selected prefix is
 *   dropped; `__name__` selects no data.
 */
import { BlazeError, invalidArgument } from "../errors";
import { DOCUMENT_ID_FIELD, formatFieldPath, isPathPrefix, parseFieldPath } from "../field-path";
import { parseCollectionPath, parseDocumentPath, validateId } from "../paths";
import { compareUtf8, compareValues, isNaNValue, isRef, typeName, utf8Length, validateFieldValue, type DocumentData, type Value } from "../values";
import type { AggregateAst, Direction, FilterAst, Operator, QueryAst } from "./ast";
import { QUERY_LIMITS } from "./limits";
import type { TextSearchMode, TextTokenizer } from "./text-search";

export type { Direction, Operator } from "./ast";

/** The field path of the document name. */
export const DOCUMENT_NAME = DOCUMENT_ID_FIELD;

/** A field, by its canonical dotted path and its segments. `__name__` is the document name. */
export interface FieldRef {
  /** Canonical field path (formatFieldPath of `segments`), or "__name__". */
  field: string;
  segments: string[];
}

export interface FieldFilter extends FieldRef {
  op: Operator;
  /**
   * The operand, validated and canonical (timestamps and bytes in canonical
   * form). For `in`, `not-in`, `array-contains-any`: an array, sorted by
   * compareValues with duplicates removed. On `__name__`: `{"$ref": path}`
   * (or an array of them).
   */
  value: Value;
}

/** An AND of field filters, sorted by canonical form, no duplicates; [] is true. */
export type Conjunction = FieldFilter[];

export interface OrderSpec extends FieldRef {
  direction: Direction;
}

/** A cursor: values for a prefix of `orderBy`; `__name__` positions hold `{"$ref": path}`. */
export interface Cursor {
  values: Value[];
  /** startAt / endAt include the position; startAfter / endBefore do not. */
  inclusive: boolean;
}

export type QueryScope =
  /** Documents whose parent collection is exactly `path`. */
  | { kind: "collection"; path: string; collectionId: string }
  /** Documents in any collection whose last id is `collectionId`. */
  | { kind: "collectionGroup"; collectionId: string };

export type AggregateSpec =
  | { alias: string; op: "count" }
  | ({ alias: string; op: FieldAggregateOp } & FieldRef);

/** Aggregations over a field: sum and avg of its numbers, min and max of its values in Firestore order. */
export type FieldAggregateOp = "sum" | "avg" | "min" | "max";
const FIELD_AGGREGATE_OPS: readonly FieldAggregateOp[] = ["sum", "avg", "min", "max"];

/** A group-by (core/query/group-by.ts): the documents' aggregates per distinct key. */
export interface GroupSpec {
  /** The key fields, in the query's order. */
  by: FieldRef[];
  /** At most this many groups (QUERY_LIMITS.maxGroups at most); null: all, up to that cap. */
  limit: number | null;
  /** Groups after this key (a prefix of it: after every key that starts with it); null: from the first. */
  after: Value[] | null;
}

/** A full-text search (docs/search.md). */
export interface SearchSpec {
  text: string;
  /** The fields searched; null: the collection's first search index's (the engine fills them in). */
  fields: FieldRef[] | null;
  mode: TextSearchMode;
  tokenizer: TextTokenizer | null;
  /** No explicit orderBy: best matches first (bm25), which no cursor can continue. */
  relevance: boolean;
}

export interface NormalizedQuery {
  scope: QueryScope;
  /** Full-text search; absent or null: none. */
  search?: SearchSpec | null;
  /**
   * Disjunctive normal form: a document matches if it matches any conjunction.
   * Empty when no document can match (a set operator whose only value was null).
   */
  dnf: Conjunction[];
  /** Resolved order: explicit, then implicit inequality fields, then `__name__` (always present). */
  orderBy: OrderSpec[];
  startAt: Cursor | null;
  endAt: Cursor | null;
  /** `last`: limitToLast, the last `count` documents in `orderBy` order. */
  limit: { count: number; last: boolean } | null;
  /** Field mask, sorted, no path under another; null = whole documents. */
  select: FieldRef[] | null;
  /** Sorted by alias; null = a plain query. */
  aggregate: AggregateSpec[] | null;
  /** Aggregates per group; null = over the whole result. With groups, `limit` and the cursors are null. */
  groups: GroupSpec | null;
  /** Write token to wait for; not part of the query's identity. */
  after: string | null;
  /** Strong: also wait for every write acknowledged before the query; not part of the query's identity. */
  consistency: "strong" | "eventual";
  /** Return the plan too; not part of the query's identity. */
  explain: boolean;
}

const INEQUALITY_OPS: ReadonlySet<Operator> = new Set(["<", "<=", ">", ">=", "!=", "not-in"]);
const RANGE_OPS: ReadonlySet<Operator> = new Set(["<", "<=", ">", ">="]);
const LIST_OPS: ReadonlySet<Operator> = new Set(["in", "not-in", "array-contains-any"]);
/** Operators whose values each count as a disjunction in DNF. */
const DISJUNCTIVE_OPS: ReadonlySet<Operator> = new Set(["in", "array-contains-any"]);

export const isInequality = (op: Operator) => INEQUALITY_OPS.has(op);

/** Field-path order: segment by segment in UTF-8 order, a prefix first. */
export function compareFieldPaths(a: string[], b: string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareUtf8(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** Deterministic JSON: map keys sorted. Values are canonical already, so equal values give equal strings. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (typeof v === "object" && v !== null) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Prefixes a core error (bad path, bad value) with where it was found. */
function within<T>(where: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof BlazeError && e.code === "INVALID_ARGUMENT") throw invalidArgument(`${where}: ${e.message}`, e.details);
    throw e;
  }
}

export function fieldRef(raw: string, where: string): FieldRef {
  if (raw === DOCUMENT_NAME) return { field: DOCUMENT_NAME, segments: [DOCUMENT_NAME] };
  const segments = within(where, () => parseFieldPath(raw));
  if (segments.length === 1 && segments[0] === DOCUMENT_NAME) return { field: DOCUMENT_NAME, segments };
  return { field: formatFieldPath(segments), segments };
}

export const isDocumentName = (f: FieldRef) => f.field === DOCUMENT_NAME;

function resolveScope(from: QueryAst["from"]): QueryScope {
  if ("collection" in from) {
    const c = within("from.collection", () => parseCollectionPath(from.collection));
    return { kind: "collection", path: c.segments.join("/"), collectionId: c.collectionId };
  }
  const id = within("from.collectionGroup", () => validateId(from.collectionGroup, "collection group id"));
  return { kind: "collectionGroup", collectionId: id };
}

/**
 * A document id or path given for `__name__`, as `{"$ref": path}`.
 * Collection queries: a plain id is resolved against the collection, and a
 * path must name a document directly in it. Collection groups: a full path.
 */
function documentNameValue(v: Value, scope: QueryScope, where: string): Value {
  let path: string;
  if (typeof v === "string") {
    if (scope.kind === "collection" && !v.includes("/")) {
      within(where, () => validateId(v, "document id"));
      path = `${scope.path}/${v}`;
    } else {
      path = v;
    }
  } else if (isRef(v)) {
    path = v.$ref;
  } else {
    throw invalidArgument(`${where}: __name__ takes a document id or path (a string or {"$ref": path}), got ${typeName(v)}`);
  }
  const doc = within(where, () => parseDocumentPath(path));
  if (scope.kind === "collection" && doc.collectionPath !== scope.path) {
    throw invalidArgument(`${where}: document ${JSON.stringify(path)} is not in the queried collection ${JSON.stringify(scope.path)}`);
  }
  return { $ref: doc.segments.join("/") };
}

/** Sorted by the value order, duplicates removed. */
function sortedSet(values: Value[]): Value[] {
  const sorted = [...values].sort(compareValues);
  return sorted.filter((v, i) => i === 0 || compareValues(sorted[i - 1], v) !== 0);
}

function normalizeFieldFilter(raw: [string, Operator, Value], scope: QueryScope, where: string): FieldFilter {
  const [rawField, op, rawValue] = raw;
  const ref = fieldRef(rawField, `${where}[0]`);
  const at = `${where}[2]`;
  if (isDocumentName(ref) && (op === "array-contains" || op === "array-contains-any")) {
    throw invalidArgument(`${where}: '${op}' is not supported on __name__`);
  }
  let value: Value;
  if (LIST_OPS.has(op)) {
    if (!Array.isArray(rawValue) || rawValue.length === 0) {
      throw invalidArgument(`${at}: '${op}' needs a non-empty array of values`);
    }
    const max = op === "not-in" ? QUERY_LIMITS.maxNotInValues : QUERY_LIMITS.maxInValues;
    if (rawValue.length > max) {
      throw invalidArgument(`${at}: '${op}' takes at most ${max} values, got ${rawValue.length}`);
    }
    const values = rawValue.map((x, i) => within(`${at}[${i}]`, () => validateFieldValue(x, ref.segments)));
    value = sortedSet(isDocumentName(ref) ? values.map((x, i) => documentNameValue(x, scope, `${at}[${i}]`)) : values);
  } else {
    value = within(at, () => validateFieldValue(rawValue, ref.segments));
    if (isDocumentName(ref)) value = documentNameValue(value, scope, at);
  }
  if (value === null && RANGE_OPS.has(op)) {
    throw invalidArgument(`${where}: null supports only '==' and '!=' comparisons, not '${op}'`);
  }
  if (isNaNValue(value) && RANGE_OPS.has(op)) {
    throw invalidArgument(`${where}: NaN supports only '==' and '!=' comparisons, not '${op}'`);
  }
  // No stored value is larger than a document, and D1 refuses huge statements.
  if (utf8Length(JSON.stringify(value)) > QUERY_LIMITS.maxOperandBytes) {
    throw invalidArgument(`${at}: the value is larger than ${QUERY_LIMITS.maxOperandBytes} bytes`);
  }
  return { ...ref, op, value };
}

const filterKey = (f: FieldFilter) => canonicalJson([f.field, f.op, f.value]);
const conjunctionKey = (c: Conjunction) => `[${c.map(filterKey).join(",")}]`;

/** Sorts by key and removes duplicates. */
function canonicalSet<T>(items: T[], key: (t: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) byKey.set(key(item), item);
  return [...byKey.keys()].sort().map((k) => byKey.get(k)!);
}

/** How many disjunctions a conjunction is in Firestore's DNF: `in`/`array-contains-any` expand per value. */
function expandedSize(c: Conjunction): number {
  let n = 1;
  for (const f of c) if (DISJUNCTIVE_OPS.has(f.op)) n *= (f.value as Value[]).length;
  return n;
}

const tooManyDisjunctions = (n: number | string) =>
  invalidArgument(
    `the filter has ${n} disjunctions in disjunctive normal form (each 'in' or 'array-contains-any' value counts as one); ` +
      `the limit is ${QUERY_LIMITS.maxDisjunctions}`,
  );

interface FilterCount {
  n: number;
}

/**
 * DNF of a filter tree: leaf -> [[leaf]]; or -> union of its children;
 * and -> cross product. Every conjunction is at least one disjunction, so the
 * expansion stops as soon as it passes the limit (no exponential blow-up).
 */
function toDnf(f: FilterAst, scope: QueryScope, where: string, count: FilterCount, depth = 0): Conjunction[] {
  if (depth > QUERY_LIMITS.maxFilterDepth) {
    throw invalidArgument(`${where}: and/or filters are nested deeper than ${QUERY_LIMITS.maxFilterDepth} levels`);
  }
  if (Array.isArray(f)) {
    if (++count.n > QUERY_LIMITS.maxFilters) {
      throw invalidArgument(`the filter has more than ${QUERY_LIMITS.maxFilters} field filters`);
    }
    return [[normalizeFieldFilter(f, scope, where)]];
  }
  if ("or" in f) {
    const out: Conjunction[] = [];
    f.or.forEach((child, i) => {
      out.push(...toDnf(child, scope, `${where}.or[${i}]`, count, depth + 1));
      if (out.length > QUERY_LIMITS.maxDisjunctions) throw tooManyDisjunctions(`more than ${QUERY_LIMITS.maxDisjunctions}`);
    });
    return out;
  }
  let out: Conjunction[] = [[]];
  f.and.forEach((child, i) => {
    const terms = toDnf(child, scope, `${where}.and[${i}]`, count, depth + 1);
    if (out.length * terms.length > QUERY_LIMITS.maxDisjunctions) {
      throw tooManyDisjunctions(`more than ${QUERY_LIMITS.maxDisjunctions}`);
    }
    out = out.flatMap((left) => terms.map((right) => [...left, ...right]));
  });
  return out;
}

function normalizeWhere(where: FilterAst | undefined, scope: QueryScope, filters: FilterCount): Conjunction[] {
  if (where === undefined) return [[]];
  const dnf = canonicalSet(
    toDnf(where, scope, "where", filters).map((c) => canonicalSet(c, filterKey)),
    conjunctionKey,
  );

  const disjunctions = dnf.reduce((n, c) => n + expandedSize(c), 0);
  if (disjunctions > QUERY_LIMITS.maxDisjunctions) throw tooManyDisjunctions(disjunctions);

  for (const c of dnf) {
    if (c.filter((f) => f.op === "array-contains" || f.op === "array-contains-any").length > 1) {
      throw invalidArgument(
        "at most one 'array-contains' or 'array-contains-any' filter is allowed per disjunction (AND group)",
      );
    }
  }

  const all = dnf.flat();
  const has = (op: Operator) => all.some((f) => f.op === op);
  // Distinct filters: DNF repeats a filter in every conjunction it joins.
  const count = (op: Operator) => new Set(all.filter((f) => f.op === op).map(filterKey)).size;
  if (count("!=") > 1) throw invalidArgument("at most one '!=' filter is allowed per query");
  const notIns = count("not-in");
  if (notIns > 0) {
    if (notIns > 1) throw invalidArgument("at most one 'not-in' filter is allowed per query");
    for (const other of ["!=", "in", "array-contains-any"] as const) {
      if (has(other)) throw invalidArgument(`'not-in' cannot be combined with '${other}' in the same query`);
    }
    if (dnf.length > 1) throw invalidArgument("'not-in' cannot be combined with 'or' in the same query");
  }

  const inequalityFields = new Set(all.filter((f) => isInequality(f.op)).map((f) => f.field));
  if (inequalityFields.size > QUERY_LIMITS.maxInequalityFields) {
    throw invalidArgument(
      `range and inequality filters are on ${inequalityFields.size} fields; the limit is ${QUERY_LIMITS.maxInequalityFields}`,
    );
  }
  return dnf;
}

/**
 * Firestore's null in set operators, applied after validation: `in` and
 * `array-contains-any` ignore a listed null (only `== null` matches null), so
 * a list of only null matches nothing; `not-in` with a null matches nothing.
 * A conjunction that can match nothing leaves the DNF.
 */
function withoutNullInSets(dnf: Conjunction[]): Conjunction[] {
  const out: Conjunction[] = [];
  for (const c of dnf) {
    const filters: Conjunction = [];
    let never = false;
    for (const f of c) {
      if (!LIST_OPS.has(f.op) || !(f.value as Value[]).includes(null)) {
        filters.push(f);
        continue;
      }
      const rest = (f.value as Value[]).filter((v) => v !== null);
      if (f.op === "not-in" || rest.length === 0) never = true;
      else filters.push({ ...f, value: rest });
    }
    if (!never) out.push(canonicalSet(filters, filterKey));
  }
  return canonicalSet(out, conjunctionKey);
}

/** Explicit orderBy, then unordered inequality fields in field-path order, then __name__. */
function resolveOrderBy(explicit: [string, Direction][], dnf: Conjunction[]): OrderSpec[] {
  const out: OrderSpec[] = [];
  const seen = new Set<string>();
  explicit.forEach(([raw, direction], i) => {
    const ref = fieldRef(raw, `orderBy[${i}][0]`);
    if (seen.has(ref.field)) throw invalidArgument(`orderBy[${i}]: field ${ref.field} is ordered more than once`);
    seen.add(ref.field);
    out.push({ ...ref, direction });
  });
  const direction: Direction = out.length > 0 ? out[out.length - 1].direction : "asc";
  const inequality = new Map<string, FieldRef>();
  for (const f of dnf.flat()) {
    if (isInequality(f.op) && !isDocumentName(f)) inequality.set(f.field, { field: f.field, segments: f.segments });
  }
  const implicit = [...inequality.values()]
    .filter((f) => !seen.has(f.field))
    .sort((a, b) => compareFieldPaths(a.segments, b.segments));
  for (const f of implicit) out.push({ ...f, direction });
  if (!seen.has(DOCUMENT_NAME)) out.push({ field: DOCUMENT_NAME, segments: [DOCUMENT_NAME], direction });
  // Firestore: "order by clause cannot contain more fields after the key".
  // Names are unique, so a field ordered after __name__ could never decide.
  const nameAt = out.findIndex(isDocumentName);
  if (nameAt !== out.length - 1) {
    const after = out.slice(nameAt + 1).map((o) => o.field);
    throw invalidArgument(
      `__name__ must be the last orderBy field, but ${after.join(", ")} would come after it` +
        (after.some((f) => !seen.has(f)) ? " (a field with a range or inequality filter is ordered implicitly after the explicit orderBy)" : ""),
    );
  }
  return out;
}

function normalizeCursor(
  name: string,
  raw: Value[] | undefined,
  inclusive: boolean,
  orderBy: OrderSpec[],
  scope: QueryScope,
): Cursor | null {
  if (raw === undefined) return null;
  if (raw.length > orderBy.length) {
    throw invalidArgument(
      `${name} has ${raw.length} values but the query orders by ${orderBy.length} fields ` +
        `(${orderBy.map((o) => o.field).join(", ")}); a cursor takes at most one value per orderBy field`,
    );
  }
  const values = raw.map((v, i) => {
    const at = `${name}[${i}]`;
    const value = within(at, () => validateFieldValue(v, orderBy[i].segments));
    return isDocumentName(orderBy[i]) ? documentNameValue(value, scope, at) : value;
  });
  return { values, inclusive };
}

function normalizeSelect(raw: string[] | undefined): FieldRef[] | null {
  if (raw === undefined) return null;
  const refs = raw
    .map((s, i) => fieldRef(s, `select[${i}]`))
    .filter((r) => !isDocumentName(r))
    .sort((a, b) => compareFieldPaths(a.segments, b.segments));
  // Sorted, a covering prefix comes right before the paths under it.
  const out: FieldRef[] = [];
  for (const r of refs) {
    const last = out[out.length - 1];
    if (last && isPathPrefix(last.segments, r.segments)) continue;
    out.push(r);
  }
  return out;
}

function normalizeAggregate(raw: Record<string, AggregateAst> | undefined): AggregateSpec[] | null {
  if (raw === undefined) return null;
  return Object.keys(raw)
    .sort()
    .map((alias): AggregateSpec => {
      const a = raw[alias];
      if ("count" in a) return { alias, op: "count" };
      const op = FIELD_AGGREGATE_OPS.find((o) => o in a)!;
      const ref = fieldRef((a as Record<FieldAggregateOp, string>)[op], `aggregate.${alias}.${op}`);
      if (isDocumentName(ref)) throw invalidArgument(`aggregate.${alias}: '${op}' needs a field, not __name__`);
      return { alias, op, ...ref };
    });
}

/**
 * groupBy: distinct fields other than `__name__`; groups are ordered by key,
 * so no orderBy, limitToLast or document cursors; `limit` counts groups (at
 * most QUERY_LIMITS.maxGroups) and `startAfter` is a group key.
 */
function normalizeGroups(ast: QueryAst): GroupSpec | null {
  if (ast.groupBy === undefined) return null;
  for (const k of ["orderBy", "limitToLast", "startAt", "endAt", "endBefore"] as const) {
    if (ast[k] !== undefined) {
      throw invalidArgument(`${k} cannot be combined with groupBy: groups are ordered by their key; page with limit and startAfter (a group key)`);
    }
  }
  const seen = new Set<string>();
  const by = ast.groupBy.map((raw, i) => {
    const ref = fieldRef(raw, `groupBy[${i}]`);
    if (isDocumentName(ref)) throw invalidArgument(`groupBy[${i}]: cannot group by __name__ (every document is its own group)`);
    if (seen.has(ref.field)) throw invalidArgument(`groupBy[${i}]: field ${ref.field} is grouped by more than once`);
    seen.add(ref.field);
    return ref;
  });
  if (ast.limit !== undefined && ast.limit > QUERY_LIMITS.maxGroups) {
    throw invalidArgument(`with groupBy, limit counts groups and must be at most ${QUERY_LIMITS.maxGroups}`);
  }
  let after: Value[] | null = null;
  if (ast.startAfter !== undefined) {
    if (ast.startAfter.length > by.length) {
      throw invalidArgument(`startAfter has ${ast.startAfter.length} values but the query groups by ${by.length} fields; a group key takes at most one value per groupBy field`);
    }
    after = ast.startAfter.map((v, i) => within(`startAfter[${i}]`, () => validateFieldValue(v, by[i].segments)));
  }
  return { by, limit: ast.limit ?? null, after };
}

/**
 * Full-text search's normalizer and matcher (core/query/search-spec.ts),
 * unset until `enableSearch()` loads them: an SDK app that never searches
 * does not bundle them. The engine loads them where it plans and where it
 * matches stored live queries (engine/query/search-index-match.ts,
 * engine/pipeline/live-notify.ts); test/search.differential.test.ts and the
 * live tests would catch a path that did not.
 */
export const searchSupport: {
  /** Completes `nq` with the body's search: its spec, and in relevance order the order it reads in. */
  normalize?: (ast: QueryAst, nq: NormalizedQuery) => void;
  /** True if the document matches the search (true when there is none). */
  matches?: (doc: { path: string; data: DocumentData }, search: SearchSpec | null | undefined) => boolean;
} = {};

/** Validates a parsed query against Firestore's rules and returns its canonical form. */
export function normalizeQuery(ast: QueryAst): NormalizedQuery {
  const groups = normalizeGroups(ast);
  // A group-by's limit and cursor are on groups; its documents are all that match.
  if (groups) ast = { ...ast, limit: undefined, startAfter: undefined };
  const scope = resolveScope(ast.from);
  const filters: FilterCount = { n: 0 };
  const dnf = normalizeWhere(ast.where, scope, filters);
  // Firestore: "The sum of filters, sort orders, and parent document path
  // (1 for a subcollection, 0 for a root collection) cannot exceed 100."
  const clauses = filters.n + (ast.orderBy?.length ?? 0) + (scope.kind === "collection" && scope.path.includes("/") ? 1 : 0);
  if (clauses > QUERY_LIMITS.maxClauses) {
    throw invalidArgument(
      `the query has ${clauses} filters, orderBy entries and parent path; the limit is ${QUERY_LIMITS.maxClauses}`,
    );
  }
  if (ast.limitToLast !== undefined && !ast.orderBy?.length) {
    throw invalidArgument("limitToLast needs at least one orderBy field");
  }
  // The implicit order comes from the filters as written, before null pruning.
  const orderBy = resolveOrderBy(ast.orderBy ?? [], dnf);
  const startAt =
    ast.startAfter !== undefined
      ? normalizeCursor("startAfter", ast.startAfter, false, orderBy, scope)
      : normalizeCursor("startAt", ast.startAt, true, orderBy, scope);
  const endAt =
    ast.endBefore !== undefined
      ? normalizeCursor("endBefore", ast.endBefore, false, orderBy, scope)
      : normalizeCursor("endAt", ast.endAt, true, orderBy, scope);
  const limit =
    ast.limitToLast !== undefined
      ? { count: ast.limitToLast, last: true }
      : ast.limit !== undefined
        ? { count: ast.limit, last: false }
        : null;
  const nq: NormalizedQuery = {
    scope,
    dnf: withoutNullInSets(dnf),
    orderBy,
    startAt,
    endAt,
    limit,
    select: normalizeSelect(ast.select),
    aggregate: normalizeAggregate(ast.aggregate),
    groups,
    after: ast.after ?? null,
    consistency: ast.consistency ?? "strong",
    explain: ast.explain ?? false,
  };
  if (ast.search) searchSupport.normalize!(ast, nq);
  return nq;
}

/**
 * A stable identity for the query's result: equal for the same query written
 * differently (filter order, redundant and/or nesting, duplicate filters,
 * `in` value order, an explicit trailing `__name__` that matches the implicit
 * one), different when results can differ. `after` and `explain` are not part
 * of it. Two queries meaning the same thing through different operators
 * (`in [x]` and `== x`) still get different keys.
 */
export function canonicalKey(nq: NormalizedQuery): string {
  const scope = nq.scope.kind === "collection" ? ["c", nq.scope.path] : ["g", nq.scope.collectionId];
  return canonicalJson([
    scope,
    nq.dnf.map((c) => c.map((f) => [f.field, f.op, f.value])),
    nq.orderBy.map((o) => [o.field, o.direction]),
    nq.startAt && [nq.startAt.inclusive, nq.startAt.values],
    nq.endAt && [nq.endAt.inclusive, nq.endAt.values],
    nq.limit && [nq.limit.count, nq.limit.last],
    nq.select && nq.select.map((s) => s.field),
    nq.aggregate && nq.aggregate.map((a) => (a.op === "count" ? [a.alias, a.op] : [a.alias, a.op, a.field])),
    // Only a group-by's key has a place here, so every other query's key is unchanged.
    ...(nq.groups ? [[nq.groups.by.map((f) => f.field), nq.groups.limit, nq.groups.after]] : []),
    ...(nq.search ? [["search", nq.search.text, nq.search.fields?.map((f) => f.field) ?? null, nq.search.mode, nq.search.tokenizer, nq.search.relevance]] : []),
  ]);
}
