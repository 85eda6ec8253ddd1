/**
 * Query constraints (where, and, or, orderBy, limit, limitToLast, cursors)
 * and `query()`, which applies them in order. The result's state is the
 * `POST /v1/query` body (`queryBody`). Cursors built from a document
 * snapshot read its values along the query's resolved order, computed by the
 * engine's own normalizer (engine/core/query/normalize.ts), so the SDK and
 * the server agree on implicit orderBy entries and `__name__`.
 */
import { getField } from "../engine/core/field-path";
// Types only: ast.ts validates with zod, which the SDK does not bundle.
import type { FilterAst, Operator, QueryAst } from "../engine/core/query/ast";
import { normalizeQuery } from "../engine/core/query/normalize";
import type { Value } from "../engine/core/values";
import { core, invalid } from "./errors";
import { Query, type QueryState } from "./reference";
import { DocumentSnapshot } from "./snapshot";
import { FieldPath, fieldPathText } from "./values";
import { toWire } from "./wire";

export type WhereFilterOp = Operator;
export type OrderByDirection = "asc" | "desc";

export abstract class QueryConstraint {
  abstract readonly type: string;
  /** @internal */
  abstract _apply<T>(q: Query<T>): Query<T>;
}

export const withState = <T>(q: Query<T>, patch: Partial<QueryState>): Query<T> => new Query<T>(q.firestore, q.converter, { ...q._state, ...patch });

export class QueryFieldFilterConstraint extends QueryConstraint {
  readonly type = "where" as const;
  /** @internal */
  constructor(readonly _filter: FilterAst) {
    super();
  }
  _apply<T>(q: Query<T>): Query<T> {
    return withState(q, { where: [...q._state.where, this._filter] });
  }
}

export class QueryCompositeFilterConstraint extends QueryConstraint {
  /** @internal */
  constructor(
    readonly type: "and" | "or",
    readonly _filters: FilterAst[],
  ) {
    super();
  }
  _apply<T>(q: Query<T>): Query<T> {
    // An `and` at the top joins the query's AND list, as Firebase flattens it.
    const add = this.type === "and" ? this._filters : [{ or: this._filters }];
    return withState(q, { where: [...q._state.where, ...add] });
  }
}

export type QueryFilterConstraint = QueryFieldFilterConstraint | QueryCompositeFilterConstraint;
export type QueryNonFilterConstraint = QueryOrderByConstraint | QueryLimitConstraint | QueryStartAtConstraint | QueryEndAtConstraint;

export class QueryOrderByConstraint extends QueryConstraint {
  readonly type = "orderBy" as const;
  /** @internal */
  constructor(
    readonly _field: string,
    readonly _direction: OrderByDirection,
  ) {
    super();
  }
  _apply<T>(q: Query<T>): Query<T> {
    if (q._state.start || q._state.end) throw invalid("Invalid query. You must not call startAt() or startAfter() before calling orderBy().");
    return withState(q, { orderBy: [...q._state.orderBy, [this._field, this._direction]] });
  }
}

export class QueryLimitConstraint extends QueryConstraint {
  /** @internal */
  constructor(
    readonly type: "limit" | "limitToLast",
    readonly _n: number,
  ) {
    super();
  }
  _apply<T>(q: Query<T>): Query<T> {
    // The later of limit / limitToLast wins, as in Firebase.
    const { limit: _l, limitToLast: _ll, ...rest } = q._state;
    return new Query<T>(q.firestore, q.converter, { ...rest, [this.type]: this._n });
  }
}

type CursorArgs = [DocumentSnapshot<any>] | unknown[];

abstract class CursorConstraint extends QueryConstraint {
  /** @internal */
  constructor(
    readonly type: "startAt" | "startAfter" | "endAt" | "endBefore",
    readonly _args: CursorArgs,
  ) {
    super();
  }
  _apply<T>(q: Query<T>): Query<T> {
    const values = cursorValues(q, this.type, this._args);
    const inclusive = this.type === "startAt" || this.type === "endAt";
    const bound = { values, inclusive };
    return withState(q, this.type.startsWith("start") ? { start: bound } : { end: bound });
  }
}
export class QueryStartAtConstraint extends CursorConstraint {}
export class QueryEndAtConstraint extends CursorConstraint {}

function cursorValues(q: Query<any>, method: string, args: CursorArgs): Value[] {
  if (args.length === 1 && args[0] instanceof DocumentSnapshot) {
    const snap = args[0] as DocumentSnapshot<any>;
    if (!snap._doc) throw invalid(`Can't use a DocumentSnapshot that doesn't exist for ${method}().`);
    const data = snap._doc.data;
    return resolvedOrder(q).map((o) => {
      if (o.field === "__name__") return { $ref: snap._doc!.path };
      const v = getField(data, o.segments);
      if (v === undefined) {
        throw invalid(`Invalid query. You are trying to start or end a query using a document for which the field '${o.field}' (used as the orderBy) does not exist.`);
      }
      return v;
    });
  }
  if (args.length === 0) throw invalid(`Function ${method}() requires at least one argument.`);
  return args.map((v) => (v instanceof DocumentSnapshot ? invalidSnapshotArg(method) : toWire(v, { method, sentinels: false })));
}

function invalidSnapshotArg(method: string): never {
  throw invalid(`Function ${method}() takes a DocumentSnapshot only as its sole argument.`);
}

/** The query's full order as the server resolves it (explicit, implicit inequality fields, __name__). */
function resolvedOrder(q: Query<any>) {
  const { from, where, search, orderBy } = queryBody(q._state);
  return core(() => normalizeQuery({ from, where, search, orderBy })).orderBy;
}

const OPS: ReadonlySet<string> = new Set<Operator>(["==", "!=", "<", "<=", ">", ">=", "array-contains", "array-contains-any", "in", "not-in"]);

export function where(fieldPath: string | FieldPath, opStr: WhereFilterOp, value: unknown): QueryFieldFilterConstraint {
  if (!OPS.has(opStr)) throw invalid(`Invalid query. Unsupported operator '${opStr}'.`);
  const field = fieldPathText(fieldPath, "where");
  return new QueryFieldFilterConstraint([field, opStr, toWire(value, { method: "where", sentinels: false })]);
}

const filtersOf = (fs: QueryFilterConstraint[]): FilterAst[] =>
  fs.map((f) => (f instanceof QueryFieldFilterConstraint ? f._filter : f.type === "and" ? { and: f._filters } : { or: f._filters }));

export function and(...queryConstraints: QueryFilterConstraint[]): QueryCompositeFilterConstraint {
  return new QueryCompositeFilterConstraint("and", filtersOf(queryConstraints));
}

export function or(...queryConstraints: QueryFilterConstraint[]): QueryCompositeFilterConstraint {
  return new QueryCompositeFilterConstraint("or", filtersOf(queryConstraints));
}

export function orderBy(fieldPath: string | FieldPath, directionStr: OrderByDirection = "asc"): QueryOrderByConstraint {
  if (directionStr !== "asc" && directionStr !== "desc") throw invalid(`Function orderBy() called with invalid direction '${directionStr}'.`);
  return new QueryOrderByConstraint(fieldPathText(fieldPath, "orderBy"), directionStr);
}

function checkLimit(n: number, method: string): number {
  if (!Number.isInteger(n) || n <= 0) throw invalid(`Function ${method}() requires a positive number, but it was: ${n}.`);
  return n;
}

export const limit = (n: number) => new QueryLimitConstraint("limit", checkLimit(n, "limit"));
export const limitToLast = (n: number) => new QueryLimitConstraint("limitToLast", checkLimit(n, "limitToLast"));

export function startAt(snapshot: DocumentSnapshot<any>): QueryStartAtConstraint;
export function startAt(...fieldValues: unknown[]): QueryStartAtConstraint;
export function startAt(...args: unknown[]) {
  return new QueryStartAtConstraint("startAt", args);
}
export function startAfter(snapshot: DocumentSnapshot<any>): QueryStartAtConstraint;
export function startAfter(...fieldValues: unknown[]): QueryStartAtConstraint;
export function startAfter(...args: unknown[]) {
  return new QueryStartAtConstraint("startAfter", args);
}
export function endAt(snapshot: DocumentSnapshot<any>): QueryEndAtConstraint;
export function endAt(...fieldValues: unknown[]): QueryEndAtConstraint;
export function endAt(...args: unknown[]) {
  return new QueryEndAtConstraint("endAt", args);
}
export function endBefore(snapshot: DocumentSnapshot<any>): QueryEndAtConstraint;
export function endBefore(...fieldValues: unknown[]): QueryEndAtConstraint;
export function endBefore(...args: unknown[]) {
  return new QueryEndAtConstraint("endBefore", args);
}

export function query<T>(q: Query<T>, compositeFilter: QueryCompositeFilterConstraint, ...queryConstraints: QueryNonFilterConstraint[]): Query<T>;
export function query<T>(q: Query<T>, ...queryConstraints: QueryConstraint[]): Query<T>;
export function query<T>(q: Query<T>, ...queryConstraints: QueryConstraint[]): Query<T> {
  let out = new Query<T>(q.firestore, q.converter, q._state);
  for (const c of queryConstraints) {
    if (!(c instanceof QueryConstraint)) throw invalid("Function query() requires its arguments to be query constraints (where(), orderBy(), ...).");
    out = c._apply(out);
  }
  return out;
}

/** The `POST /v1/query` body of a query (without aggregate, after or consistency). */
export function queryBody(state: QueryState): QueryAst {
  // `search` undefined when there is none: JSON leaves it out.
  const body: QueryAst = { from: state.from, search: state.search };
  if (state.where.length) body.where = state.where.length === 1 ? state.where[0] : { and: state.where };
  if (state.orderBy.length) body.orderBy = state.orderBy;
  if (state.limit !== undefined) body.limit = state.limit;
  if (state.limitToLast !== undefined) body.limitToLast = state.limitToLast;
  if (state.start) body[state.start.inclusive ? "startAt" : "startAfter"] = state.start.values;
  if (state.end) body[state.end.inclusive ? "endAt" : "endBefore"] = state.end.values;
  return body;
}
