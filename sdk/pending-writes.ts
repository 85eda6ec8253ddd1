/**
 * Latency compensation: this client's writes not yet reflected in what the
 * server has sent its listeners, and the documents as they look with those
 * writes applied (Firestore's "local view").
 *
 * A write joins the overlay when it is made and leaves it when the server
 * refuses it (listeners roll back to the server's state) or, once it is
 * acknowledged, when a listener's server copy of the document has reached
 * the acknowledged version. Live queries are fed asynchronously, so an
 * acknowledged write stays until then, or at most ACK_GRACE_MS: a document
 * the server will never send this listener (row-level rules filtering a
 * query, a window that moved) does not linger.
 *
 * Before the acknowledgement, a server copy newer than any copy a listener
 * held when the write was made may already hold the write (the socket can
 * beat the HTTP answer): that copy is shown as is, so an increment is never
 * applied twice; the write's effect returns if the acknowledgement shows
 * the copy predates it.
 *
 * Writes apply with the engine's own transforms (engine/core/transforms.ts, unvalidated: the SDK checked them),
 * and queries match with its reference evaluator, so the local view agrees
 * with what the server will send. A serverTimestamp() takes the local clock
 * as its estimate; snapshots show null unless data({ serverTimestamps }) asks
 * for the estimate or the previous value, as Firebase does.
 */
import { getField, parseFieldPath } from "../engine/core/field-path";
import { queryWindow } from "../engine/core/query/evaluate";
import type { NormalizedQuery } from "../engine/core/query/normalize";
import { setData, updateData } from "../engine/core/transforms";
import { isMap, isTransform, valuesEqual, type DocumentData, type Value } from "../engine/core/values";
import type { DocumentSnapshot as WireDoc, Write, WriteResult } from "../engine/core/writes";
import type { Blaze } from "./database";

/** A serverTimestamp() field of a local document: its local estimate and the value it replaced. */
export interface Estimate {
  path: string[];
  value: Value;
  previous: Value | undefined;
}

/** A document with this client's pending writes applied. */
export interface LocalDoc extends WireDoc {
  pending: true;
  estimates: Estimate[];
}

export type ViewDoc = WireDoc | LocalDoc;

export const isPending = (d: ViewDoc | null | undefined): d is LocalDoc => (d as LocalDoc | null | undefined)?.pending === true;

/** How long an acknowledged write may wait for a listener's server copy to catch up. */
export const ACK_GRACE_MS = 3_000;

interface Entry {
  writes: Write[];
  now: Date;
  /** The newest server version any listener held of each path when the write was made. */
  seen: Map<string, number | undefined>;
  /** Acknowledged: the version the server gave each path. */
  acked?: Map<string, number>;
}

/** A listener, as the overlay sees it. */
export interface Watcher {
  /** The overlay changed: show the documents again. */
  render(): void;
  /** Its server copy's version of `path`, if it has one. */
  versionOf(path: string): number | undefined;
}

export class PendingWrites {
  private entries: Entry[] = [];
  private readonly watchers = new Set<Watcher>();
  private scheduled = false;

  get size(): number {
    return this.entries.length;
  }

  /** `w.render()` runs (in a microtask, once per burst) whenever the overlay changes. */
  watch(w: Watcher): () => void {
    this.watchers.add(w);
    return () => void this.watchers.delete(w);
  }

  /** The newest version of `path` any listener holds. */
  private seenVersion(path: string): number | undefined {
    let out: number | undefined;
    for (const w of this.watchers) out = Math.max(w.versionOf(path) ?? -1, out ?? -1);
    return out! < 0 ? undefined : out;
  }

  /**
   * Sends `writes` through `send` with them in the overlay meanwhile: on
   * success they wait for the listeners to catch up, on failure they are
   * rolled back and the error is thrown.
   */
  async track(writes: Write[], send: () => Promise<WriteResult[]>): Promise<WriteResult[]> {
    const e: Entry = { writes, now: new Date(), seen: new Map(writes.map((w) => [w.path, this.seenVersion(w.path)])) };
    this.entries.push(e);
    this.changed();
    try {
      const r = await send();
      e.acked = new Map(r.map((w) => [w.path, w.version]));
      this.changed();
      setTimeout(() => this.drop(e), ACK_GRACE_MS);
      return r;
    } catch (err) {
      this.drop(e);
      throw err;
    }
  }

  private drop(e: Entry): void {
    const at = this.entries.indexOf(e);
    if (at < 0) return;
    this.entries.splice(at, 1);
    this.changed();
  }

  private changed(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      for (const w of [...this.watchers]) w.render();
    });
  }

  /** Paths with writes in the overlay. */
  paths(): Set<string> {
    return new Set(this.entries.flatMap((e) => e.writes.map((w) => w.path)));
  }

  /**
   * The document at `path` as this client sees it, given the listener's
   * server copy `base`: undefined when no pending write changes it, null
   * when a pending delete removed it.
   */
  overlay(path: string, base: WireDoc | null): LocalDoc | null | undefined {
    let data: DocumentData | null = base?.data ?? null;
    let estimates: Estimate[] = [];
    let touched = false;
    const reflected = this.reflected(path, base);
    this.entries.forEach((e, i) => {
      if (i <= reflected && e.acked?.has(path)) return;
      if (!e.acked && base && newer(base.version, e.seen.get(path))) return;
      for (const w of e.writes) {
        if (w.path !== path) continue;
        const before: DocumentData | null = data;
        const next = applyWrite(data, w, e.now);
        if (next === undefined) continue;
        touched = true;
        data = next;
        // An estimate lasts until a later write replaces its field.
        estimates = data === null ? [] : [...estimates.filter((s) => sameValue(getField(data!, s.path), s.value)), ...newEstimates(w, data, before)];
      }
    });
    if (!touched) return undefined;
    // The server's fields (version, times) stay those of its copy, absent for a new document.
    return data && ({ ...base, path, data, pending: true, estimates } as LocalDoc);
  }

  /**
   * The index of the last acknowledged entry on `path` the server copy
   * already holds: its version has reached the entry's, or, with no copy,
   * the entry deleted the document (the acknowledged writes before it are
   * gone with it). Acknowledged entries up to there are left out.
   */
  private reflected(path: string, base: WireDoc | null): number {
    let upTo = -1;
    this.entries.forEach((e, i) => {
      const v = e.acked?.get(path);
      if (v === undefined) return;
      if (base ? base.version >= v : e.writes.some((w) => w.path === path && w.op === "delete")) upTo = i;
    });
    return upTo;
  }

  /**
   * A query's result with the overlay: the server's `docs` (its answer, in
   * order, within its limit) with every locally written document replaced
   * by its local version, then matched, ordered, bounded and limited by the
   * engine's reference evaluator. The server's own answer is returned as is
   * when no pending write touches it.
   */
  queryView(nq: NormalizedQuery, docs: readonly WireDoc[]): ViewDoc[] {
    const touched = this.paths();
    const candidates: ViewDoc[] = docs.filter((d) => !touched.has(d.path));
    let changed = false;
    for (const path of touched) {
      const base = docs.find((d) => d.path === path) ?? null;
      const local = this.overlay(path, base);
      if (local !== undefined) changed = true;
      const d = local === undefined ? base : local;
      if (d) candidates.push(d);
    }
    return changed ? queryWindow(candidates, nq) : (docs as WireDoc[]);
  }

}

/** A server copy at `version` is newer than what the listeners held when the write was made, so it may hold the write. */
const newer = (version: number, seen: number | undefined) => !(version <= seen!);

const sameValue = (a: Value | undefined, b: Value) => a !== undefined && valuesEqual(a, b);

/** One write on the current data: the new data, null for a delete, undefined when it does not apply (update of a missing document). */
function applyWrite(data: DocumentData | null, w: Write, now: Date): DocumentData | null | undefined {
  try {
    if (w.op === "delete") return null;
    // The SDK validated the write when it was made; the server validates it again.
    if (w.op === "update") return data === null ? undefined : updateData(data, w.data, now);
    return setData(data, w.data, now, w.merge);
  } catch {
    return undefined; // the server refuses it too; the rollback follows
  }
}

/** The serverTimestamp() fields a write sets, with their estimates in `after` and values in `before`. */
function newEstimates(w: Write, after: DocumentData, before: DocumentData | null): Estimate[] {
  if (w.op === "delete") return [];
  const out: Estimate[] = [];
  const visit = (v: Value, path: string[]) => {
    if (isTransform(v)) {
      if ("$serverTimestamp" in v) out.push({ path, value: getField(after, path)!, previous: before ? getField(before, path) : undefined });
    } else if (isMap(v)) for (const k of Object.keys(v)) visit((v as DocumentData)[k], [...path, k]);
  };
  if (w.op === "set") visit(w.data, []);
  else for (const k of Object.keys(w.data)) visit(w.data[k], parseFieldPath(k));
  return out;
}

/** The database's overlay, created on its first write or listener. */
export function pendingOf(db: Blaze): PendingWrites {
  db._pending ??= new PendingWrites();
  return db._pending as PendingWrites;
}
