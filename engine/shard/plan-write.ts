/**
 * Decides what one write does to one document: checks its preconditions and
 * computes the new state. Pure (no storage), so the single-shard commit and
 * the two-phase prepare share it.
 */
import { BlazeError } from "../core/errors";
import { applySet, applyUpdate } from "../core/transforms";
import type { DocumentData } from "../core/values";
import type { Write } from "../core/writes";
import { indexEntriesFor } from "../index/entries";
import { compositeEntriesFor } from "../index/composite";
import { indexesFor, isExempt } from "../index/config";
import { indexConfig } from "../index/load-config";
import type { IndexConfig } from "../index/config-types";
import { parseDocumentPath } from "../core/paths";

/** A document as the shard stores it; `deleted` rows are tombstones. */
export interface StoredDoc {
  path: string;
  data: DocumentData | null;
  version: number;
  createTime: string | null;
  updateTime: string;
  seq: number;
  deleted: boolean;
}

/** The outcome of a write, before it gets a sequence number. */
export type PlannedWrite =
  | { op: "set"; path: string; data: DocumentData; version: number; createTime: string; updateTime: string; existed: boolean }
  | { op: "delete"; path: string; version: number; updateTime: string; existed: true }
  /** Deleting a missing document changes nothing (Firestore semantics). */
  | { op: "noop"; path: string; version: number; updateTime: string };

/**
 * The rules' say on a write (shard/write-rules.ts), asked before any
 * precondition or existence check: a caller the rules refuse learns nothing
 * about the document, not even whether it exists. Absent for admins.
 */
export type WriteGuard = (check: { op: "create" | "update" | "delete"; path: string; doc: DocumentData | null; newDoc: DocumentData | null }) => void;

export function planWrite(current: StoredDoc | null, write: Write, now: Date, config: IndexConfig = indexConfig, guard?: WriteGuard): PlannedWrite {
  const live = current && !current.deleted ? current : null;
  const before = live?.data ?? null;
  const nowIso = now.toISOString();
  const version = (current?.version ?? 0) + 1;

  if (write.op === "delete") {
    guard?.({ op: "delete", path: write.path, doc: before, newDoc: null });
    checkPrecondition(live, write);
    if (!live) return { op: "noop", path: write.path, version: current?.version ?? 0, updateTime: nowIso };
    return { op: "delete", path: write.path, version, updateTime: nowIso, existed: true };
  }
  let data: DocumentData;
  if (write.op === "update") {
    if (!live) {
      guard?.({ op: "update", path: write.path, doc: null, newDoc: null });
      checkPrecondition(live, write);
      throw new BlazeError("NOT_FOUND", `no document to update: ${write.path}`);
    }
    data = applyUpdate(before ?? {}, write.data, now);
    guard?.({ op: "update", path: write.path, doc: before, newDoc: data });
  } else {
    // A create (ifVersion 0) is judged as one even where a document exists: it then fails ALREADY_EXISTS.
    const creating = write.ifVersion === 0 || !live;
    data = applySet(creating ? null : before, write.data, now, { merge: write.merge });
    guard?.({ op: creating ? "create" : "update", path: write.path, doc: creating ? null : before, newDoc: data });
  }
  checkPrecondition(live, write);
  // Counting index entries here rejects a document the index could not hold,
  // before it is acknowledged (the consumer must never meet one).
  // Composite rows count too: an array-contains field in a composite index
  // makes one row per distinct element.
  const { collectionId } = parseDocumentPath(write.path);
  const compositeEntries = indexesFor(config, collectionId).reduce((n, index) => n + compositeEntriesFor(index, write.path, data).length, 0);
  indexEntriesFor(data, { exempt: (field) => isExempt(config, collectionId, field), compositeEntries });
  return { op: "set", path: write.path, data, version, createTime: live?.createTime ?? nowIso, updateTime: nowIso, existed: live !== null };
}

function checkPrecondition(live: StoredDoc | null, write: Write): void {
  if (write.ifVersion === undefined) return;
  if (write.ifVersion === 0) {
    if (live) throw new BlazeError("ALREADY_EXISTS", `document already exists: ${write.path}`, { version: live.version });
    return;
  }
  if (!live) {
    throw new BlazeError("FAILED_PRECONDITION", `expected version ${write.ifVersion} of ${write.path}, but it does not exist`);
  }
  if (live.version !== write.ifVersion) {
    throw new BlazeError(
      "FAILED_PRECONDITION",
      `expected version ${write.ifVersion} of ${write.path}, found ${live.version}`,
      { path: write.path, expected: write.ifVersion, actual: live.version },
    );
  }
}
