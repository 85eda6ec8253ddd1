/**
 * References and queries: DocumentReference, CollectionReference, Query, the
 * `doc` / `collection` / `collectionGroup` constructors and their equality.
 * A query is plain state that becomes a `POST /v1/query` body (query.ts).
 */
import { generateId, parsePath, validateId } from "../engine/core/paths";
import type { Direction, FilterAst, FromAst, SearchAst } from "../engine/core/query/ast";
import type { Value } from "../engine/core/values";
import type { Blaze } from "./database";
import { core, invalid } from "./errors";

/** Firebase's: a document's fields as the app sees them (Timestamp, Bytes, ... not their wire forms). */
export interface DocumentData {
  [field: string]: any;
}

export interface SnapshotOptions {
  /** Accepted for compatibility; Blaze has no pending writes to estimate. */
  readonly serverTimestamps?: "estimate" | "previous" | "none";
}

/** Firebase's converter shape: app objects to stored data and back. */
export interface FirestoreDataConverter<AppModelType, DbModelType extends DocumentData = DocumentData> {
  toFirestore(modelObject: AppModelType, options?: SetOptions): DbModelType;
  fromFirestore(snapshot: any, options?: SnapshotOptions): AppModelType;
}

export type SetOptions = { readonly merge?: boolean } | { readonly mergeFields?: Array<string | import("./values").FieldPath> };

/** The query's state, kept in the shape of the POST /v1/query body. */
export interface QueryState {
  from: FromAst;
  /** Top-level filters, ANDed. */
  where: FilterAst[];
  orderBy: [string, Direction][];
  limit?: number;
  limitToLast?: number;
  start?: { values: Value[]; inclusive: boolean };
  end?: { values: Value[]; inclusive: boolean };
  /** Full-text search (sdk/search.ts). */
  search?: SearchAst;
}

export class Query<T = DocumentData> {
  readonly type: "query" | "collection" = "query";

  /** @internal */
  constructor(
    readonly firestore: Blaze,
    readonly converter: FirestoreDataConverter<T, any> | null,
    readonly _state: QueryState,
  ) {}

  withConverter<U>(converter: FirestoreDataConverter<U, any>): Query<U>;
  withConverter(converter: null): Query<DocumentData>;
  withConverter<U>(converter: FirestoreDataConverter<U, any> | null): Query<U> {
    return new Query<U>(this.firestore, converter as FirestoreDataConverter<U, any> | null, this._state);
  }
}

export class CollectionReference<T = DocumentData> extends Query<T> {
  override readonly type = "collection" as const;

  /** @internal */
  constructor(
    firestore: Blaze,
    converter: FirestoreDataConverter<T, any> | null,
    readonly _segments: readonly string[],
  ) {
    super(firestore, converter, { from: { collection: _segments.join("/") }, where: [], orderBy: [] });
  }

  get id(): string {
    return this._segments[this._segments.length - 1];
  }

  get path(): string {
    return this._segments.join("/");
  }

  get parent(): DocumentReference<DocumentData> | null {
    return this._segments.length === 1 ? null : new DocumentReference(this.firestore, null, this._segments.slice(0, -1));
  }

  override withConverter<U>(converter: FirestoreDataConverter<U, any>): CollectionReference<U>;
  override withConverter(converter: null): CollectionReference<DocumentData>;
  override withConverter<U>(converter: FirestoreDataConverter<U, any> | null): CollectionReference<U> {
    return new CollectionReference<U>(this.firestore, converter as FirestoreDataConverter<U, any> | null, this._segments);
  }
}

export class DocumentReference<T = DocumentData> {
  readonly type = "document" as const;

  /** @internal */
  constructor(
    readonly firestore: Blaze,
    readonly converter: FirestoreDataConverter<T, any> | null,
    readonly _segments: readonly string[],
  ) {}

  get id(): string {
    return this._segments[this._segments.length - 1];
  }

  get path(): string {
    return this._segments.join("/");
  }

  get parent(): CollectionReference<T> {
    return new CollectionReference<T>(this.firestore, this.converter, this._segments.slice(0, -1));
  }

  withConverter<U>(converter: FirestoreDataConverter<U, any>): DocumentReference<U>;
  withConverter(converter: null): DocumentReference<DocumentData>;
  withConverter<U>(converter: FirestoreDataConverter<U, any> | null): DocumentReference<U> {
    return new DocumentReference<U>(this.firestore, converter as FirestoreDataConverter<U, any> | null, this._segments);
  }

  toJSON(): object {
    return { type: "firestore/documentReference/1.0", referencePath: this.path };
  }
}

/** Segments of `path` joined with `more`, each part split at `/` (Firebase allows both). */
function segmentsOf(path: string, more: string[], method: string): string[] {
  if (typeof path !== "string" || path === "") throw invalid(`Function ${method}() cannot be called with an empty path.`);
  const joined = [path, ...more].join("/");
  return core(() => parsePath(joined));
}

type Parent = Blaze | DocumentReference<any> | CollectionReference<any>;

function isRef(x: unknown): x is DocumentReference<any> | CollectionReference<any> {
  return x instanceof DocumentReference || x instanceof CollectionReference;
}

export function collection(parent: Parent, path: string, ...pathSegments: string[]): CollectionReference<DocumentData> {
  const base = isRef(parent) ? parent._segments : [];
  const db = isRef(parent) ? parent.firestore : parent;
  const segs = [...base, ...segmentsOf(path, pathSegments, "collection")];
  if (segs.length % 2 !== 1) {
    throw invalid(`Invalid collection reference. Collection references must have an odd number of segments, but ${segs.join("/")} has ${segs.length}.`);
  }
  return new CollectionReference(db, null, segs);
}

export function collectionGroup(db: Blaze, collectionId: string): Query<DocumentData> {
  if (typeof collectionId !== "string" || collectionId.includes("/")) {
    throw invalid(`Invalid collection ID '${collectionId}' passed to function collectionGroup(). Collection IDs must not contain '/'.`);
  }
  core(() => validateId(collectionId, "collection id"));
  return new Query(db, null, { from: { collectionGroup: collectionId }, where: [], orderBy: [] });
}

export function doc(db: Blaze, path: string, ...pathSegments: string[]): DocumentReference<DocumentData>;
export function doc<T>(reference: CollectionReference<T>, path?: string, ...pathSegments: string[]): DocumentReference<T>;
export function doc<T>(reference: DocumentReference<any>, path: string, ...pathSegments: string[]): DocumentReference<DocumentData>;
export function doc(parent: Parent, path?: string, ...pathSegments: string[]): DocumentReference<any> {
  // doc(collectionRef) with no path: a new random id, generated locally as Firebase does.
  if (parent instanceof CollectionReference && arguments.length === 1) path = generateId();
  if (path === undefined) throw invalid("Function doc() cannot be called with an empty path.");
  const base = isRef(parent) ? parent._segments : [];
  const db = isRef(parent) ? parent.firestore : parent;
  const segs = [...base, ...segmentsOf(path, pathSegments, "doc")];
  if (segs.length % 2 !== 0) {
    throw invalid(`Invalid document reference. Document references must have an even number of segments, but ${segs.join("/")} has ${segs.length}.`);
  }
  return new DocumentReference(db, parent instanceof CollectionReference ? parent.converter : null, segs);
}

export function refEqual<T>(left: DocumentReference<T> | CollectionReference<T>, right: DocumentReference<T> | CollectionReference<T>): boolean {
  return left.type === right.type && left.firestore === right.firestore && left.path === right.path && left.converter === right.converter;
}

export function queryEqual<T>(left: Query<T>, right: Query<T>): boolean {
  return (
    left instanceof Query &&
    right instanceof Query &&
    left.firestore === right.firestore &&
    left.converter === right.converter &&
    JSON.stringify(left._state) === JSON.stringify(right._state)
  );
}
