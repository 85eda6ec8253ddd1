/**
 * The write operations the shard applies and the change records it emits.
 * Shared by the HTTP layer, the shard, the pipeline and (later) the SDK.
 */
import type { DocumentData, Value } from "./values";

export type Write =
  /** Create or replace; with `merge`, deep-merge into the existing document. */
  | { op: "set"; path: string; data: DocumentData; merge?: boolean; ifVersion?: number }
  /** Update fields by field path; the document must exist. */
  | { op: "update"; path: string; data: Record<string, Value>; ifVersion?: number }
  | { op: "delete"; path: string; ifVersion?: number };

/** What a write did, as write responses report it. */
export interface WriteResult {
  path: string;
  version: number;
  updateTime: string;
  token: string;
}

/** A stored document as reads return it. */
export interface DocumentSnapshot {
  path: string;
  id: string;
  data: DocumentData;
  version: number;
  createTime: string;
  updateTime: string;
}

/**
 * One committed change in a shard's log: the unit of the outbox, the queue
 * messages and the listeners. `data` is absent for deletes, and also when the
 * change travels by reference (`byRef`) because it is too big for a queue message.
 */
export interface Change {
  shard: number;
  seq: number;
  path: string;
  op: "set" | "delete";
  version: number;
  data?: DocumentData;
  createTime?: string;
  updateTime: string;
  /** Whether the document existed before this change (added vs modified). */
  existed: boolean;
  byRef?: true;
  /** A quarantine replay: the index had counted this seq as applied without the document. */
  repair?: true;
}
