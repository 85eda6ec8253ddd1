/**
 * The index verifier's comparison (engine/pipeline/verify.ts drives it): what
 * one index database holds for a document against what its shard, the source
 * of truth, says it should hold. Pure: the rows come from verify-read.ts.
 *
 * Concurrency: the shard was read first (its last seq then is `head`), the
 * index after. A row newer than `head` was written since: the document is
 * skipped, not reported. A row that is newer than the shard's version of the
 * document but not newer than `head` cannot come from any change and is
 * reported (`ahead`).
 */
import type { DocumentData } from "../core/values";
import { parseDocumentPath } from "../core/paths";
import { compositeRowsFor, toHex } from "./apply";
import { indexesFor, isExempt } from "./config";
import type { IndexConfig } from "./config-types";
import { indexEntriesFor } from "./entries";
import { SEARCH_DIFFERENCE_KINDS, compareSearchRows, readySearchIndexes, type SearchRow } from "./verify-search";

export const DIFFERENCE_KINDS = [
  /** Live in its shard, no row in the index. */
  "missing",
  /** The index holds an older version. */
  "stale",
  /** The index holds the version's seq with other contents (version, data, times). */
  "mismatch",
  /** The index holds a seq its shard never gave the document. */
  "ahead",
  /** A row for a document its shard has deleted, has no record of, or that belongs in another index database. */
  "extra",
  /** A tombstone that hides the live version. */
  "tombstone",
  /** Single-field index entries the version should have and the index lacks; extra ones; ones of another version. */
  "entry_missing",
  "entry_extra",
  "entry_stale",
  /** Composite index entries (ready indexes only) lacking, or not expected. */
  "composite_missing",
  "composite_extra",
  /** Full-text search rows of built search indexes (verify-search.ts; per index). */
  ...SEARCH_DIFFERENCE_KINDS,
] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];

export interface Difference {
  kind: DifferenceKind;
  path: string;
  /** Rows of this kind for the document (entries: how many). */
  count: number;
  detail: string;
}

/** A document as its shard holds it (deleted ones too). */
export interface TruthDoc {
  path: string;
  seq: number;
  deleted: boolean;
  version: number;
  /** JSON text, null when deleted. */
  data: string | null;
  createTime: string | null;
  updateTime: string;
}

/** A page of a shard's documents in path order (engine/shard/doc-store.ts docsPage). */
export interface DocsPage {
  docs: TruthDoc[];
  /** The last path looked at: the next page starts after it. */
  last: string | null;
  /** No path follows `last` in the shard. */
  done: boolean;
  /** The shard's last seq when the page was read. */
  head: number;
}

/** What one index database holds for one document. */
export interface IndexedRows {
  doc: { seq: number; version: number; data: string; create_time: string; update_time: string } | null;
  tombstone: { seq: number } | null;
  entries: { field: string; kind: string; value: string; seq: number }[];
  composites: { index_id: string; scope: string; key: string; seq: number }[];
  /** Rows in built search indexes. */
  search: SearchRow[];
}

export type Comparison = { concurrent: true } | { concurrent: false; differences: Difference[] };

/**
 * Compares a document's rows in one index database with `truth` (null: the
 * shard has no record of it, or it belongs in another database). `ready`:
 * the composite and search indexes that are built here (others may lack rows).
 */
export function compareIndexed(path: string, truth: TruthDoc | null, head: number, rows: IndexedRows, config: IndexConfig, ready: Set<string>): Comparison {
  if ((rows.doc && rows.doc.seq > head) || (rows.tombstone && rows.tombstone.seq > head)) return { concurrent: true };
  const out: Difference[] = [];
  const add = (kind: DifferenceKind, detail: string, count = 1) => out.push({ kind, path, count, detail });
  const entries = rows.entries.filter((e) => e.seq <= head);
  const composites = rows.composites.filter((e) => e.seq <= head);
  const live = truth && !truth.deleted ? truth : null;
  const search = (version: { seq: number; data: DocumentData } | null) => {
    const found = compareSearchRows(path, version, rows.search.filter((r) => r.seq <= head), readySearchIndexes(config, ready));
    for (const f of found) add(f.kind, f.detail, f.count);
  };

  if (!live) {
    if (rows.doc) add(truth && rows.doc.seq > truth.seq ? "ahead" : "extra", docWhy(truth, rows.doc.seq));
    if (entries.length) add("entry_extra", `${entries.length} entries for a document ${truth ? "deleted" : "absent"} here`, entries.length);
    if (composites.length) add("composite_extra", `${composites.length} composite entries for a document ${truth ? "deleted" : "absent"} here`, composites.length);
    search(null);
    return { concurrent: false, differences: out };
  }

  const data = JSON.parse(live.data!) as DocumentData;
  if (rows.tombstone && rows.tombstone.seq >= live.seq) add("tombstone", `tombstone at seq ${rows.tombstone.seq} hides version ${live.version} (seq ${live.seq})`);
  if (!rows.doc) add("missing", `version ${live.version} (seq ${live.seq}) is not in the index`);
  else if (rows.doc.seq < live.seq) add("stale", `index has seq ${rows.doc.seq}, shard has seq ${live.seq}`);
  else if (rows.doc.seq > live.seq) add("ahead", `index has seq ${rows.doc.seq}, shard's version is seq ${live.seq}`);
  else {
    const wrong = [
      rows.doc.version !== live.version && `version ${rows.doc.version} (shard: ${live.version})`,
      canonical(rows.doc.data) !== canonical(live.data!) && "data",
      rows.doc.update_time !== live.updateTime && "update time",
      rows.doc.create_time !== (live.createTime ?? live.updateTime) && "create time",
    ].filter(Boolean);
    if (wrong.length) add("mismatch", `seq ${live.seq}: ${wrong.join(", ")} differ`);
  }

  // Entries are compared only against the version the index holds: a missing or stale row is reported once, above.
  if (rows.doc?.seq !== live.seq) return { concurrent: false, differences: out };
  const { collectionId } = parseDocumentPath(path);
  const exempt = config.exemptions.length ? (field: string) => isExempt(config, collectionId, field) : undefined;
  const want = new Set(indexEntriesFor(data, { exempt, maxEntries: Number.POSITIVE_INFINITY }).map((e) => `${e.field}\u0000${e.kind}\u0000${toHex(e.value)}`));
  const have = new Map(entries.map((e) => [`${e.field}\u0000${e.kind}\u0000${e.value.toLowerCase()}`, e.seq]));
  tally(add, "entry", want, have, live.seq);

  const indexes = indexesFor(config, collectionId).filter((i) => ready.has(i.id));
  const wantComposite = new Set(compositeRowsFor(indexes, { path, seq: live.seq, data }).map(([id, scope, key]) => `${id}\u0000${scope}\u0000${toHex(key)}`));
  const readyRows = composites.filter((c) => ready.has(c.index_id));
  const haveComposite = new Map(readyRows.map((c) => [`${c.index_id}\u0000${c.scope}\u0000${c.key.toLowerCase()}`, c.seq]));
  tally(add, "composite", wantComposite, haveComposite, live.seq);
  search({ seq: live.seq, data });
  return { concurrent: false, differences: out };
}

function tally(add: (kind: DifferenceKind, detail: string, count: number) => void, what: "entry" | "composite", want: Set<string>, have: Map<string, number>, seq: number) {
  const missing = [...want].filter((k) => !have.has(k));
  const extra = [...have.keys()].filter((k) => !want.has(k));
  const stale = [...have].filter(([k, s]) => want.has(k) && s !== seq);
  const label = (k: string) => k.split("\u0000").slice(0, 2).join(" ");
  if (missing.length) add(`${what}_missing`, `${missing.length} missing (${missing.slice(0, 3).map(label).join("; ")})`, missing.length);
  if (extra.length) add(`${what}_extra`, `${extra.length} extra (${extra.slice(0, 3).map(label).join("; ")})`, extra.length);
  // A composite entry at another seq is still the right key; only single-field entries carry the version they describe.
  if (stale.length && what === "entry") add("entry_stale", `${stale.length} entries at another seq than ${seq}`, stale.length);
}

function docWhy(truth: TruthDoc | null, seq: number): string {
  if (!truth) return `index has seq ${seq}; the shard has no record of the document here`;
  return `index has seq ${seq}; the shard deleted the document at seq ${truth.seq}`;
}

/** JSON text in one spelling (SQLite may write numbers differently than JSON.stringify). */
function canonical(json: string): string {
  return JSON.stringify(JSON.parse(json));
}
