/**
 * Snapshots in Firebase's shapes: DocumentSnapshot, QueryDocumentSnapshot,
 * QuerySnapshot with docChanges(), SnapshotMetadata, and snapshotEqual.
 * A snapshot keeps the wire document; data() converts on each call, as
 * Firebase's does, so callers may mutate what they get.
 */
import { getField, parseFieldPath, setField } from "../engine/core/field-path";
import { valuesEqual, type DocumentData as WireData } from "../engine/core/values";
import type { DocumentSnapshot as WireDoc } from "../engine/core/writes";
import { core } from "./errors";
import { isPending, type ViewDoc } from "./pending-writes";
import { DocumentReference, Query, queryEqual, refEqual, type DocumentData, type SnapshotOptions } from "./reference";
import { FieldPath, fieldPathText } from "./values";
import { fromWire } from "./wire";

export type { WireDoc };

export class SnapshotMetadata {
  /**
   * True when the snapshot shows writes of this client that the server has
   * not confirmed yet (latency compensation, pending-writes.ts).
   */
  readonly hasPendingWrites: boolean;
  /** Always false: snapshots come from the server, never from a cache. */
  readonly fromCache: boolean;

  constructor(hasPendingWrites = false, fromCache = false) {
    this.hasPendingWrites = hasPendingWrites;
    this.fromCache = fromCache;
  }

  isEqual(other: SnapshotMetadata): boolean {
    return other.hasPendingWrites === this.hasPendingWrites && other.fromCache === this.fromCache;
  }
}

const SERVER = new SnapshotMetadata();
const PENDING = new SnapshotMetadata(true);
export const metadataOf = (pending: boolean) => (pending ? PENDING : SERVER);

/**
 * A local document's data as the app sees it: each serverTimestamp() the
 * server has not set yet is null, its local estimate or the value it
 * replaced (SnapshotOptions.serverTimestamps), as in Firebase.
 */
function visibleData(doc: ViewDoc, options: SnapshotOptions): WireData {
  if (!isPending(doc)) return doc.data;
  let data = doc.data;
  for (const e of doc.estimates) {
    const v = options.serverTimestamps === "estimate" ? e.value : options.serverTimestamps === "previous" ? (e.previous ?? null) : null;
    data = setField(data, e.path, v);
  }
  return data;
}

export class DocumentSnapshot<T = DocumentData> {
  readonly metadata: SnapshotMetadata;

  /** @internal */
  constructor(
    readonly ref: DocumentReference<T>,
    readonly _doc: ViewDoc | null,
    pending = isPending(_doc),
  ) {
    this.metadata = metadataOf(pending);
  }

  get id(): string {
    return this.ref.id;
  }

  exists(): this is QueryDocumentSnapshot<T> {
    return this._doc !== null;
  }

  data(options: SnapshotOptions = {}): T | undefined {
    if (!this._doc) return undefined;
    const conv = this.ref.converter;
    if (conv) return conv.fromFirestore(new QueryDocumentSnapshot<DocumentData>(this.ref.withConverter(null), this._doc), options);
    return fromWire(visibleData(this._doc, options), this.ref.firestore) as T;
  }

  /** One field by dotted path or FieldPath; undefined when absent. */
  get(fieldPath: string | FieldPath, options: SnapshotOptions = {}): any {
    if (!this._doc) return undefined;
    const text = fieldPathText(fieldPath, "DocumentSnapshot.get");
    const v = getField(visibleData(this._doc, options), core(() => parseFieldPath(text)));
    return v === undefined ? undefined : fromWire(v, this.ref.firestore);
  }

  toJSON(): object {
    return { path: this.ref.path, exists: this._doc !== null, data: this._doc?.data };
  }
}

export class QueryDocumentSnapshot<T = DocumentData> extends DocumentSnapshot<T> {
  /** @internal */
  constructor(ref: DocumentReference<T>, doc: ViewDoc) {
    super(ref, doc);
  }

  override data(options: SnapshotOptions = {}): T {
    return super.data(options) as T;
  }
}

export type DocumentChangeType = "added" | "removed" | "modified";

export interface DocumentChange<T = DocumentData> {
  readonly type: DocumentChangeType;
  readonly doc: QueryDocumentSnapshot<T>;
  readonly oldIndex: number;
  readonly newIndex: number;
}

export class QuerySnapshot<T = DocumentData> {
  /** hasPendingWrites: some document in it has writes the server has not confirmed. */
  readonly metadata: SnapshotMetadata;

  /** @internal */
  constructor(
    readonly query: Query<T>,
    readonly docs: Array<QueryDocumentSnapshot<T>>,
    private readonly changes: Array<DocumentChange<T>>,
    /** Documents whose hasPendingWrites changed and nothing else, for docChanges({ includeMetadataChanges: true }). */
    private readonly metaChanges: Array<DocumentChange<T>> = [],
  ) {
    this.metadata = metadataOf(docs.some((d) => d.metadata.hasPendingWrites));
  }

  get size(): number {
    return this.docs.length;
  }

  get empty(): boolean {
    return this.docs.length === 0;
  }

  forEach(callback: (result: QueryDocumentSnapshot<T>) => void, thisArg?: unknown): void {
    this.docs.forEach((d) => callback.call(thisArg, d));
  }

  /**
   * The changes since the previous snapshot of this listener (every
   * document `added` in the first); with `includeMetadataChanges`, also the
   * documents only confirmed by the server since (`modified` in place).
   */
  docChanges(options: { includeMetadataChanges?: boolean } = {}): Array<DocumentChange<T>> {
    return options.includeMetadataChanges ? [...this.changes, ...this.metaChanges] : this.changes;
  }
}

/** A wire document as a snapshot of `query`'s type (its converter). */
export function docSnapshot<T>(query: Query<T> | DocumentReference<T>, doc: ViewDoc): QueryDocumentSnapshot<T> {
  const segs = doc.path.split("/");
  return new QueryDocumentSnapshot<T>(new DocumentReference<T>(query.firestore, query.converter, segs), doc);
}

function sameDoc(a: WireDoc | null, b: WireDoc | null): boolean {
  if (a === null || b === null) return a === b;
  return a.path === b.path && a.version === b.version && a.updateTime === b.updateTime && valuesEqual(a.data, b.data);
}

export function snapshotEqual<T>(left: DocumentSnapshot<T> | QuerySnapshot<T>, right: DocumentSnapshot<T> | QuerySnapshot<T>): boolean {
  if (left instanceof DocumentSnapshot && right instanceof DocumentSnapshot) {
    return refEqual(left.ref, right.ref) && left.metadata.isEqual(right.metadata) && sameDoc(left._doc, right._doc);
  }
  if (left instanceof QuerySnapshot && right instanceof QuerySnapshot) {
    return (
      queryEqual(left.query, right.query) &&
      left.metadata.isEqual(right.metadata) &&
      left.size === right.size &&
      left.docs.every((d, i) => sameDoc(d._doc, right.docs[i]._doc))
    );
  }
  return false;
}
