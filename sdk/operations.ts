/**
 * The calls that talk to the server over HTTP: one request each, except
 * getDocs, which follows `next` (one request per 1,000 documents). Costs are
 * listed in docs/sdk.md.
 */
import type { QueryAst } from "../engine/core/query/ast";
import type { Value } from "../engine/core/values";
import type { Write, WriteResult } from "../engine/core/writes";
import type { Blaze } from "./database";
import { BlazeError, invalid } from "./errors";
import { queryBody } from "./query";
import { CollectionReference, DocumentReference, Query, doc, type SetOptions } from "./reference";
import { DocumentSnapshot, QuerySnapshot, docSnapshot, type DocumentChange, type WireDoc } from "./snapshot";
import { FieldPath, fieldPathText } from "./values";
import { mutate } from "./mutations";
import { pendingOf } from "./pending-writes";
import { fromWire } from "./wire";
import { deleteWrite, setWrites, updateWrite } from "./writes";

/** `users/a b` -> `/v1/docs/users/a%20b`: each segment percent-encoded (README, "Ids"). */
const docUrl = (path: string) => `/v1/docs/${path.split("/").map(encodeURIComponent).join("/")}`;

function checkRef(ref: unknown, method: string): asserts ref is DocumentReference<any> {
  if (!(ref instanceof DocumentReference)) throw invalid(`Function ${method}() expects a DocumentReference as its first argument.`);
}

export async function getDoc<T>(reference: DocumentReference<T>): Promise<DocumentSnapshot<T>> {
  checkRef(reference, "getDoc");
  try {
    const { body } = await reference.firestore._request<WireDoc>("GET", docUrl(reference.path));
    return new DocumentSnapshot<T>(reference, body);
  } catch (e) {
    if (e instanceof BlazeError && e.code === "not-found") return new DocumentSnapshot<T>(reference, null);
    throw e;
  }
}

/** One or more writes: a single write through its document route, several as one atomic batch. */
function commit(db: Blaze, writes: Write[], headers?: Record<string, string>): Promise<WriteResult[]> {
  // Shown in this client's listeners at once, until the server confirms or refuses (pending-writes.ts).
  return pendingOf(db).track(writes, () => send(db, writes, headers));
}

async function send(db: Blaze, writes: Write[], headers?: Record<string, string>): Promise<WriteResult[]> {
  if (writes.length > 1) return (await mutate<{ results: WriteResult[] }>(db, "POST", "/v1/batch", { writes })).body.results;
  const w = writes[0];
  const method = w.op === "set" ? "PUT" : w.op === "update" ? "PATCH" : "DELETE";
  const url = docUrl(w.path) + (w.op === "set" && w.merge ? "?merge=true" : "");
  return [(await mutate<WriteResult>(db, method, url, w.op === "delete" ? undefined : w.data, headers)).body];
}

export async function setDoc<T>(reference: DocumentReference<T>, data: T | Record<string, unknown>, options?: SetOptions): Promise<void> {
  checkRef(reference, "setDoc");
  await commit(reference.firestore, setWrites(reference, data, options, "setDoc"));
}

export function updateDoc<T>(reference: DocumentReference<T>, data: Record<string, unknown>): Promise<void>;
export function updateDoc<T>(reference: DocumentReference<T>, field: string | FieldPath, value: unknown, ...moreFieldsAndValues: unknown[]): Promise<void>;
export async function updateDoc(reference: DocumentReference<any>, ...args: unknown[]): Promise<void> {
  checkRef(reference, "updateDoc");
  await commit(reference.firestore, [updateWrite(reference, args, "updateDoc")]);
}

export async function deleteDoc<T>(reference: DocumentReference<T>): Promise<void> {
  checkRef(reference, "deleteDoc");
  await commit(reference.firestore, [deleteWrite(reference)]);
}

/**
 * A new document with an id generated on the client (as Firebase does), so
 * the reference is known before the answer. Created with "must not exist"
 * (If-Match: 0): an id collision fails instead of overwriting.
 */
export async function addDoc<T>(reference: CollectionReference<T>, data: T): Promise<DocumentReference<T>> {
  if (!(reference instanceof CollectionReference)) throw invalid("Function addDoc() expects a CollectionReference as its first argument.");
  const ref = doc(reference);
  await commit(reference.firestore, setWrites(ref, data, undefined, "addDoc"), { "If-Match": "0" });
  return ref;
}

export function checkQuery(q: unknown, method: string): asserts q is Query<any> {
  if (!(q instanceof Query)) throw invalid(`Function ${method}() expects a Query or CollectionReference as its first argument.`);
}

/**
 * Runs `body` and follows `next` until it is absent (docs/queries.md, "Pages
 * and sizes"). A limitToLast query pages backwards: later pages come first.
 */
export async function runQueryPages(db: Blaze, body: QueryAst): Promise<WireDoc[]> {
  let docs: WireDoc[] = [];
  let req: Record<string, unknown> = { ...body };
  for (;;) {
    const { body: res } = await db._request<{ docs: WireDoc[]; next?: Record<string, unknown> }>("POST", "/v1/query", req);
    const next = res.next;
    if (next && "endBefore" in next) docs = [...res.docs, ...docs];
    else docs = docs.concat(res.docs);
    if (!next) return docs;
    req = { ...req, ...next };
    if ("startAfter" in next) delete req.startAt;
    if ("endBefore" in next) delete req.endAt;
  }
}

/** Every matching document, strongly consistent (it sees every write acknowledged before the call). */
export async function getDocs<T>(q: Query<T>): Promise<QuerySnapshot<T>> {
  checkQuery(q, "getDocs");
  const docs = (await runQueryPages(q.firestore, queryBody(q._state))).map((d) => docSnapshot(q, d));
  const changes: DocumentChange<T>[] = docs.map((d, i) => ({ type: "added", doc: d, oldIndex: -1, newIndex: i }));
  return new QuerySnapshot<T>(q, docs, changes);
}

// ---------------------------------------------------------------- aggregates

export type AggregateType = "count" | "sum" | "avg" | "min" | "max";

export class AggregateField<R> {
  readonly type = "AggregateField" as const;
  /** @internal */
  declare readonly _result?: R;
  /** @internal */
  constructor(
    readonly aggregateType: AggregateType,
    readonly _field?: string,
  ) {}
}

export type AggregateSpec = { [field: string]: AggregateField<any> };
export type AggregateSpecData<S extends AggregateSpec> = { [P in keyof S]: S[P] extends AggregateField<infer R> ? R : never };

export const count = (): AggregateField<number> => new AggregateField<number>("count");
export const sum = (field: string | FieldPath): AggregateField<number> => new AggregateField<number>("sum", fieldPathText(field, "sum"));
export const average = (field: string | FieldPath): AggregateField<number | null> => new AggregateField<number | null>("avg", fieldPathText(field, "average"));
/** Blaze's own: the field's smallest value in Firestore's order (any type), null when no document has it. */
export const minimum = (field: string | FieldPath): AggregateField<unknown> => new AggregateField<unknown>("min", fieldPathText(field, "minimum"));
/** Blaze's own: the field's largest value in Firestore's order (any type), null when no document has it. */
export const maximum = (field: string | FieldPath): AggregateField<unknown> => new AggregateField<unknown>("max", fieldPathText(field, "maximum"));

export function aggregateFieldEqual(left: AggregateField<unknown>, right: AggregateField<unknown>): boolean {
  return left.aggregateType === right.aggregateType && left._field === right._field;
}

export class AggregateQuerySnapshot<S extends AggregateSpec, T = any> {
  readonly type = "AggregateQuerySnapshot" as const;
  /** @internal */
  constructor(
    readonly query: Query<T>,
    private readonly values: AggregateSpecData<S>,
  ) {}

  data(): AggregateSpecData<S> {
    return { ...this.values };
  }
}

/** The `aggregate` member of a query body for an aggregate spec. */
export function aggregateBody(aggregateSpec: AggregateSpec, method: string): Record<string, unknown> {
  const aggregate: Record<string, unknown> = {};
  for (const [alias, f] of Object.entries(aggregateSpec)) {
    if (!(f instanceof AggregateField)) throw invalid(`${method}(): ${alias} is not count(), sum(), average(), minimum() or maximum()`);
    aggregate[alias] = f.aggregateType === "count" ? { count: true } : { [f.aggregateType]: f._field };
  }
  return aggregate;
}

/** The server's aggregate values as the app sees them. */
export function aggregateSnapshot<S extends AggregateSpec, T>(q: Query<T>, aggregateSpec: S, values: Record<string, Value>): AggregateQuerySnapshot<S, T> {
  const out: Record<string, unknown> = {};
  for (const alias of Object.keys(aggregateSpec)) out[alias] = fromWire(values[alias] ?? null, q.firestore);
  return new AggregateQuerySnapshot<S, T>(q, out as AggregateSpecData<S>);
}

/** One request: the server computes the aggregates from the index (no documents travel). sdk/group-by.ts adds `{ groupBy }`. */
export async function getAggregateFromServer<S extends AggregateSpec, T>(q: Query<T>, aggregateSpec: S): Promise<AggregateQuerySnapshot<S, T>> {
  checkQuery(q, "getAggregateFromServer");
  const aggregate = aggregateBody(aggregateSpec, "getAggregateFromServer");
  const { body } = await q.firestore._request<{ aggregates: Record<string, Value> }>("POST", "/v1/query", { ...queryBody(q._state), aggregate });
  return aggregateSnapshot(q, aggregateSpec, body.aggregates);
}

export function getCountFromServer<T>(q: Query<T>): Promise<AggregateQuerySnapshot<{ count: AggregateField<number> }, T>> {
  return getAggregateFromServer(q, { count: count() });
}

// ---------------------------------------------------------------- batches

/** Up to 500 writes committed all or nothing (POST /v1/batch: one request). */
export class WriteBatch {
  private writes: Write[] = [];
  private committed = false;

  /** @internal */
  constructor(private readonly db: Blaze) {}

  private add(ref: DocumentReference<any>, method: string, ws: Write[]): this {
    if (this.committed) throw new BlazeError("failed-precondition", "A write batch can no longer be used after commit() has been called.");
    checkRef(ref, method);
    if (ref.firestore !== this.db) throw invalid(`Provided document reference is from a different Firestore instance.`);
    this.writes.push(...ws);
    return this;
  }

  set<T>(documentRef: DocumentReference<T>, data: T | Record<string, unknown>, options?: SetOptions): this {
    return this.add(documentRef, "WriteBatch.set", setWrites(documentRef, data, options, "WriteBatch.set"));
  }

  update<T>(documentRef: DocumentReference<T>, data: Record<string, unknown>): this;
  update<T>(documentRef: DocumentReference<T>, field: string | FieldPath, value: unknown, ...moreFieldsAndValues: unknown[]): this;
  update(documentRef: DocumentReference<any>, ...args: unknown[]): this {
    return this.add(documentRef, "WriteBatch.update", [updateWrite(documentRef, args, "WriteBatch.update")]);
  }

  delete<T>(documentRef: DocumentReference<T>): this {
    return this.add(documentRef, "WriteBatch.delete", [deleteWrite(documentRef)]);
  }

  async commit(): Promise<void> {
    if (this.committed) throw new BlazeError("failed-precondition", "A write batch can no longer be used after commit() has been called.");
    this.committed = true;
    // One write goes through its document route: the same outcome, all or nothing.
    if (this.writes.length > 0) await commit(this.db, this.writes);
  }
}

export function writeBatch(firestore: Blaze): WriteBatch {
  firestore._checkOpen();
  return new WriteBatch(firestore);
}

// ---------------------------------------------------------------- explain

/** What `"explain": true` adds to a query's answer (docs/queries.md, "explain"). */
export interface ExplainResult<T> {
  /** The plan: scope, resolved order, limit, one entry per disjunction with its index rule and scans. */
  plan: Record<string, unknown>;
  /** Rows D1 reports reading, summed over the statements. */
  rowsRead: number;
  /** `[{ shard, sql, params, rowsRead }]`: each D1 statement the query ran. */
  statements: Array<{ shard: string; sql: string; params: number; rowsRead: number }>;
  /** The first page of results (up to 1,000 documents), as getDocs would give it. */
  snapshot: QuerySnapshot<T>;
}

/** Blaze's own: runs the query with `"explain": true` (1 request) and returns its plan beside its first page. */
export async function explain<T>(q: Query<T>): Promise<ExplainResult<T>> {
  checkQuery(q, "explain");
  const { body } = await q.firestore._request<{ docs: WireDoc[]; explain: Omit<ExplainResult<T>, "snapshot"> }>("POST", "/v1/query", { ...queryBody(q._state), explain: true });
  const docs = body.docs.map((d) => docSnapshot(q, d));
  const changes: DocumentChange<T>[] = docs.map((d, i) => ({ type: "added", doc: d, oldIndex: -1, newIndex: i }));
  return { ...body.explain, snapshot: new QuerySnapshot<T>(q, docs, changes) };
}
