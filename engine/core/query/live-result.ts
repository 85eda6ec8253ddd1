/**
 * A live query's result, kept up to date one document change at a time, and
 * the changes a listener sees (Firestore's docChanges(): `added`,
 * `modified`, `removed` with the oldIndex/newIndex that keep a client's
 * ordered array in step). Pure; the live-query object feeds it.
 *
 * Membership is the reference matcher's (matchesQuery + withinCursors), the
 * same rules the query engine answers by. A `limit` window holds the first
 * (or, for limitToLast, the last) N matching documents: a document that
 * sorts into a full window pushes one out; a document that leaves a full
 * window leaves it short, and only then is the index read again (`refill`).
 */
import type { DocumentSnapshot } from "../writes";
import { compareByOrder, matchesQuery, withinCursors } from "./evaluate";
import type { NormalizedQuery } from "./normalize";

export interface LiveChange {
  type: "added" | "modified" | "removed";
  doc: DocumentSnapshot;
  oldIndex: number;
  newIndex: number;
}

export class LiveResult {
  private docs: DocumentSnapshot[] = [];
  private readonly order: (a: DocumentSnapshot, b: DocumentSnapshot) => number;
  /**
   * With a limit: the last read filled the window, so matching documents may
   * exist beyond it that this result has never seen.
   */
  private full = false;

  constructor(private readonly nq: NormalizedQuery) {
    const byOrder = compareByOrder(nq.orderBy);
    this.order = (a, b) => byOrder(a, b);
  }

  get current(): readonly DocumentSnapshot[] {
    return this.docs;
  }

  has(path: string): boolean {
    return this.indexOf(path) >= 0;
  }

  versionOf(path: string): number | undefined {
    return this.docs[this.indexOf(path)]?.version;
  }

  /** True if the document belongs to the result set before the limit. */
  matches(doc: DocumentSnapshot): boolean {
    return matchesQuery(doc, this.nq) && withinCursors(doc, this.nq);
  }

  /**
   * Replaces the result with a fresh read of the query (the first read, a
   * refill, a resynchronisation). `docs` must be the query's answer with
   * its limit; returns the changes from the old result to the new.
   */
  reset(docs: DocumentSnapshot[]): LiveChange[] {
    const next = [...docs].sort(this.order);
    this.full = this.nq.limit !== null && next.length >= this.nq.limit.count;
    const changes: LiveChange[] = [];
    const keep = new Set(next.map((d) => d.path));
    // Removals first, from the end so each oldIndex holds as the array shrinks.
    for (let i = this.docs.length - 1; i >= 0; i--) {
      if (!keep.has(this.docs[i].path)) changes.push(this.removeAt(i));
    }
    next.forEach((doc, i) => {
      const at = this.indexOf(doc.path);
      if (at < 0) {
        this.docs.splice(i, 0, doc);
        changes.push({ type: "added", doc, oldIndex: -1, newIndex: i });
      } else if (at !== i || this.docs[at].version !== doc.version) {
        this.docs.splice(at, 1);
        this.docs.splice(i, 0, doc);
        changes.push({ type: "modified", doc, oldIndex: at, newIndex: i });
      }
    });
    return changes;
  }

  /**
   * A document's new state (null: deleted), newer than anything seen for it.
   * `refill`: the window is short of documents it cannot see; read the
   * query again and `reset` with the answer.
   */
  apply(path: string, doc: DocumentSnapshot | null): { changes: LiveChange[]; refill: boolean } {
    const at = this.indexOf(path);
    const inSet = doc !== null && this.matches(doc);
    const limit = this.nq.limit;
    if (at < 0 && !inSet) return { changes: [], refill: false };

    if (at >= 0) {
      const old = this.docs[at];
      this.docs.splice(at, 1);
      if (inSet && this.fitsWindow(doc!)) {
        const to = this.insertionPoint(doc!);
        this.docs.splice(to, 0, doc!);
        return { changes: [{ type: "modified", doc: doc!, oldIndex: at, newIndex: to }], refill: false };
      }
      // Gone from the window: a full one is now short of a document it never saw.
      const removed: LiveChange = { type: "removed", doc: old, oldIndex: at, newIndex: -1 };
      return { changes: [removed], refill: limit !== null && this.full };
    }

    if (!this.fitsWindow(doc!)) return { changes: [], refill: false };
    const to = this.insertionPoint(doc!);
    if (limit !== null && this.docs.length >= limit.count) {
      // The window overflows: the document at its far end leaves (or the new
      // one never enters, if it is that far end).
      this.full = true;
      const far = limit.last ? 0 : this.docs.length;
      if (to === far) return { changes: [], refill: false };
      this.docs.splice(to, 0, doc!);
      const added: LiveChange = { type: "added", doc: doc!, oldIndex: -1, newIndex: to };
      return { changes: [added, this.removeAt(limit.last ? 0 : this.docs.length - 1)], refill: false };
    }
    this.docs.splice(to, 0, doc!);
    return { changes: [{ type: "added", doc: doc!, oldIndex: -1, newIndex: to }], refill: false };
  }

  /**
   * `apply`, unless it would leave the window short (a refill, which needs
   * the index to hold the change): then null, and the result is as it was.
   * For changes that arrive before the index has them (the direct path).
   */
  tryApply(path: string, doc: DocumentSnapshot | null): LiveChange[] | null {
    const before = { docs: this.docs.slice(), full: this.full };
    const r = this.apply(path, doc);
    if (!r.refill) return r.changes;
    this.docs = before.docs;
    this.full = before.full;
    return null;
  }

  /** Whether a matching document belongs in the window as it stands. */
  private fitsWindow(doc: DocumentSnapshot): boolean {
    const limit = this.nq.limit;
    if (limit === null || !this.full || this.docs.length < limit.count) {
      // Not full: every matching document is in it. Full but short (a
      // document just left): only those inside its current edge are known.
      if (limit === null || !this.full) return true;
    }
    if (this.docs.length === 0) return false;
    const edge = limit.last ? this.docs[0] : this.docs[this.docs.length - 1];
    const c = this.order(doc, edge);
    return limit.last ? c >= 0 : c <= 0;
  }

  private insertionPoint(doc: DocumentSnapshot): number {
    let lo = 0;
    let hi = this.docs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.order(this.docs[mid], doc) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private removeAt(i: number): LiveChange {
    const [doc] = this.docs.splice(i, 1);
    return { type: "removed", doc, oldIndex: i, newIndex: -1 };
  }

  private indexOf(path: string): number {
    return this.docs.findIndex((d) => d.path === path);
  }
}
