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

export function planWrite(current: StoredDoc | null, write: Write, now: Date, config: IndexConfig = indexConfig): PlannedWrite {
  const live = current && !current.deleted ? current : null;
  checkPrecondition(live, write);
  const nowIso = now.toISOString();
  const version = (current?.version ?? 0) + 1;

  if (write.op === "delete") {
    if (!live) return { op: "noop", path: write.path, version: current?.version ?? 0, updateTime: nowIso };
    return { op: "delete", path: write.path, version, updateTime: nowIso, existed: true };
  }
  let data: DocumentData;
  if (write.op === "update") {
    if (!live) throw new BlazeError("NOT_FOUND", `no document to update: ${write.path}`);
    data = applyUpdate(live.data ?? {}, write.data, now);
  } else {
    data = applySet(live?.data ?? null, write.data, now, { merge: write.merge });
  }
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
