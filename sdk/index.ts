/**
 * Blaze's client: Firestore's modular API over Blaze's HTTP API and its one
 * listen socket. Port Firebase code by changing the import and the
 * initialisation (docs/sdk.md).
 */
export { Blaze, initializeBlaze, terminate, type BlazeSettings, type Firestore, type SocketLike } from "./database";
export { BlazeError, FirestoreError, type FirestoreErrorCode } from "./errors";
export {
  CollectionReference,
  DocumentReference,
  Query,
  collection,
  collectionGroup,
  doc,
  queryEqual,
  refEqual,
  type DocumentData,
  type FirestoreDataConverter,
  type SetOptions,
  type SnapshotOptions,
} from "./reference";
export {
  QueryCompositeFilterConstraint,
  QueryConstraint,
  QueryEndAtConstraint,
  QueryFieldFilterConstraint,
  QueryLimitConstraint,
  QueryOrderByConstraint,
  QueryStartAtConstraint,
  and,
  endAt,
  endBefore,
  limit,
  limitToLast,
  or,
  orderBy,
  query,
  startAfter,
  startAt,
  where,
  type OrderByDirection,
  type QueryFilterConstraint,
  type QueryNonFilterConstraint,
  type WhereFilterOp,
} from "./query";
export {
  DocumentSnapshot,
  QueryDocumentSnapshot,
  QuerySnapshot,
  SnapshotMetadata,
  snapshotEqual,
  type DocumentChange,
  type DocumentChangeType,
} from "./snapshot";
export {
  AggregateField,
  AggregateQuerySnapshot,
  WriteBatch,
  addDoc,
  aggregateFieldEqual,
  average,
  count,
  deleteDoc,
  explain,
  getCountFromServer,
  getDoc,
  maximum,
  minimum,
  getDocs,
  setDoc,
  sum,
  updateDoc,
  writeBatch,
  type AggregateSpec,
  type AggregateSpecData,
  type AggregateType,
  type ExplainResult,
} from "./operations";
export { AggregateGroupsSnapshot, getAggregateFromServer, type AggregateGroup, type GroupByOptions } from "./group-by";
export { QuerySearchConstraint, search, type SearchMode, type SearchOptions } from "./search";
export { withSchema, type Schema } from "./schema";
export { Transaction, runTransaction, type TransactionOptions } from "./transaction";
export { onAggregateSnapshot, onSnapshot, type Observer, type SnapshotListenOptions, type Unsubscribe } from "./listen";
export {
  Bytes,
  FieldPath,
  FieldValue,
  GeoPoint,
  Timestamp,
  arrayRemove,
  arrayUnion,
  deleteField,
  documentId,
  increment,
  serverTimestamp,
} from "./values";
