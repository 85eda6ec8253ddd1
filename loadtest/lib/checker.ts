/**
 * The lossless history checker: given a run's history (every operation with
 * its invocation, completion and outcome, what each listener heard, and the
 * state read back at the end), finds every way the run lost, reordered or
 * invented data. Pure: no I/O, no clock. Anomalies by kind:
 *
 * - lost-write: an acknowledged write is missing from the final state (or
 *   from a later read of its document);
 * - stale-read: a read saw an older version than one acknowledged or read
 *   before it started (versions went backwards);
 * - version-conflict: one version of a document seen with two values, or an
 *   acknowledged write's value seen at another version;
 * - phantom: a value that no write (or only a refused one) produced;
 * - torn-batch: part of a batch applied or visible without the rest;
 * - counter-mismatch: a counter is not the sum of its acknowledged increments
 *   (plus any of those whose outcome is unknown);
 * - index-mismatch: the D1 index (POST /v1/query) differs from the documents;
 * - listener-reorder: a listener heard a document's versions out of order or twice;
 * - listener-divergence: a listener's final state differs from the documents.
 */
import type { DocSnap, History, Op, Scope } from "../k6/lib/history.ts";

export type AnomalyKind =
  | "lost-write"
  | "stale-read"
  | "version-conflict"
  | "phantom"
  | "torn-batch"
  | "counter-mismatch"
  | "index-mismatch"
  | "listener-reorder"
  | "listener-divergence"
  /** The final state could not be read back in time (the index or the server stayed unavailable). */
  | "unreadable";

export interface Anomaly {
  kind: AnomalyKind;
  path?: string;
  detail: string;
}

export interface CheckReport {
  ok: boolean;
  anomalies: Anomaly[];
  counts: Partial<Record<AnomalyKind, number>>;
  stats: { ops: number; ok: number; fail: number; info: number; listenEvents: number; listeners: number; paths: number };
}

type Kind = "register" | "batch" | "counter";

/** A document seen somewhere; `strong` ones (reads, queries) must respect real time. */
interface Observation {
  path: string;
  doc: DocSnap | null;
  invokedAt: number;
  completedAt: number;
  source: string;
  strong: boolean;
}

/** JSON with sorted keys, so the same value from the shard and from D1 compares equal. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

const collectionOf = (path: string) => path.slice(0, path.lastIndexOf("/"));
const seenOf = (doc: DocSnap) => (doc.data.seen && typeof doc.data.seen === "object" ? (doc.data.seen as Record<string, unknown>) : {});

export function checkHistory(history: History): CheckReport {
  const anomalies: Anomaly[] = [];
  const flag = (kind: AnomalyKind, path: string | undefined, detail: string) => anomalies.push({ kind, ...(path ? { path } : {}), detail });
  const { ops, events, final } = history;

  // The kind of each path, and the writes that may have produced each value.
  const kinds = new Map<string, Kind>();
  const writesByTag = new Map<string, Op>();
  const batches = new Map<string, Op>();
  const increments = new Map<string, Op[]>();
  /** Acknowledged versions per path: [completedAt, version] (what any later read must reach). */
  const acked = new Map<string, { at: number; version: number; op: Op }[]>();
  const ack = (path: string, at: number, version: number | undefined, op: Op) => {
    if (version === undefined) return;
    if (!acked.has(path)) acked.set(path, []);
    acked.get(path)!.push({ at, version, op });
  };
  for (const op of ops) {
    const input = op.input;
    switch (input.f) {
      case "write":
        kinds.set(input.path, "register");
        writesByTag.set(input.tag, op);
        if (op.outcome === "ok") ack(input.path, op.completedAt, op.result?.version, op);
        break;
      case "batch":
        batches.set(input.id, op);
        input.paths.forEach((p, i) => {
          kinds.set(p, "batch");
          if (op.outcome === "ok") ack(p, op.completedAt, op.result?.versions?.[i], op);
        });
        break;
      case "increment":
        kinds.set(input.path, "counter");
        if (!increments.has(input.path)) increments.set(input.path, []);
        increments.get(input.path)!.push(op);
        if (op.outcome === "ok") ack(input.path, op.completedAt, op.result?.version, op);
        break;
    }
  }

  // Everything anyone saw.
  const observations: Observation[] = [];
  for (const op of ops) {
    if (op.outcome !== "ok") continue;
    const at = { invokedAt: op.invokedAt, completedAt: op.completedAt, strong: true };
    if (op.input.f === "read") observations.push({ path: op.input.path, doc: op.result?.doc ?? null, source: `read #${op.id}`, ...at });
    if (op.input.f === "query") for (const doc of op.result?.docs ?? []) observations.push({ path: doc.path, doc, source: `query #${op.id}`, ...at });
  }
  for (const e of events) {
    if ("path" in e && e.doc) observations.push({ path: e.path, doc: e.doc, invokedAt: e.at, completedAt: e.at, source: `listener ${e.listener}`, strong: false });
  }
  // A loop, not Math.max(...): a soak's history has more events than a call can take arguments.
  let end = 0;
  for (const o of ops) end = Math.max(end, o.completedAt);
  for (const e of events) end = Math.max(end, e.at);
  end += 1;
  if (final) {
    for (const [path, doc] of Object.entries(final.reads)) observations.push({ path, doc, invokedAt: end, completedAt: end, source: "final read", strong: true });
    for (const doc of final.index) observations.push({ path: doc.path, doc, invokedAt: end, completedAt: end, source: "index", strong: false });
    for (const [name, l] of Object.entries(final.listeners)) {
      for (const doc of l.docs) observations.push({ path: doc.path, doc, invokedAt: end, completedAt: end, source: `listener ${name} (final)`, strong: false });
    }
  }

  // One value per version; values come from writes that were not refused.
  const valueAt = new Map<string, { value: string; source: string }>();
  for (const o of observations) {
    if (!o.doc) continue;
    const key = `${o.path}@${o.doc.version}`;
    const value = canonical(o.doc.data);
    const first = valueAt.get(key);
    if (!first) valueAt.set(key, { value, source: o.source });
    else if (first.value !== value) flag("version-conflict", o.path, `v${o.doc.version}: ${first.source} saw ${first.value}, ${o.source} saw ${value}`);
    checkValue(o, kinds.get(o.path));
  }

  function checkValue(o: Observation, kind: Kind | undefined) {
    const doc = o.doc!;
    if (!kind) return flag("phantom", o.path, `${o.source} saw a document the run never wrote: ${canonical(doc.data)}`);
    if (kind === "register") {
      const tag = String(doc.data.tag);
      const w = writesByTag.get(tag);
      if (!w || w.input.f !== "write" || w.input.path !== o.path) return flag("phantom", o.path, `${o.source} saw tag ${tag}, never written here`);
      if (w.outcome === "fail") return flag("phantom", o.path, `${o.source} saw tag ${tag}, whose write was refused (${w.error ?? "fail"})`);
      if (w.invokedAt > o.completedAt) return flag("phantom", o.path, `${o.source} saw tag ${tag} before its write began`);
      if (w.outcome === "ok" && w.result?.version !== undefined && w.result.version !== doc.version) {
        flag("version-conflict", o.path, `tag ${tag} acknowledged at v${w.result.version}, ${o.source} saw it at v${doc.version}`);
      }
    } else if (kind === "batch") {
      for (const id of Object.keys(seenOf(doc))) {
        const b = batches.get(id);
        if (!b || b.input.f !== "batch" || !b.input.paths.includes(o.path)) flag("phantom", o.path, `${o.source} saw batch ${id}, which never wrote here`);
        else if (b.outcome === "fail") flag("phantom", o.path, `${o.source} saw batch ${id}, which was refused (${b.error ?? "fail"})`);
        else if (b.invokedAt > o.completedAt) flag("phantom", o.path, `${o.source} saw batch ${id} before it began`);
      }
      // Merges only add: a version at or after an acknowledged batch holds it.
      for (const a of acked.get(o.path) ?? []) {
        if (a.op.input.f === "batch" && doc.version >= a.version && !seenOf(doc)[a.op.input.id]) {
          flag("lost-write", o.path, `${o.source} at v${doc.version} lacks batch ${a.op.input.id}, acknowledged at v${a.version}`);
        }
      }
    } else {
      const n = Number(doc.data.n);
      const sent = (increments.get(o.path) ?? []).filter((i) => i.outcome !== "fail" && i.invokedAt <= o.completedAt);
      const most = sent.reduce((s, i) => s + (i.input.f === "increment" ? i.input.amount : 0), 0);
      if (n > most) flag("counter-mismatch", o.path, `${o.source} saw n=${n}, more than the ${most} ever sent by then (an increment applied twice?)`);
      if (o.strong) {
        const least = (increments.get(o.path) ?? [])
          .filter((i) => i.outcome === "ok" && i.completedAt < o.invokedAt)
          .reduce((s, i) => s + (i.input.f === "increment" ? i.input.amount : 0), 0);
        if (n < least) flag("counter-mismatch", o.path, `${o.source} saw n=${n}, less than the ${least} acknowledged before it began (an increment lost?)`);
      }
    }
  }

  // Real time: a read sees at least every version acknowledged or read before it began.
  checkRealTime(observations, acked, flag);

  // A batch seen anywhere is seen everywhere after that.
  const firstSeen = new Map<string, { at: number; source: string; path: string }>();
  for (const o of observations) {
    if (!o.doc || kinds.get(o.path) !== "batch") continue;
    for (const id of Object.keys(seenOf(o.doc))) {
      const prev = firstSeen.get(id);
      if (!prev || o.completedAt < prev.at) firstSeen.set(id, { at: o.completedAt, source: o.source, path: o.path });
    }
  }
  for (const o of observations) {
    if (!o.strong || kinds.get(o.path) !== "batch") continue;
    const seen = o.doc ? seenOf(o.doc) : {};
    for (const [id, first] of firstSeen) {
      const b = batches.get(id);
      if (b?.input.f !== "batch" || !b.input.paths.includes(o.path) || first.at >= o.invokedAt || seen[id]) continue;
      flag("torn-batch", o.path, `${o.source} lacks batch ${id}, which ${first.source} saw on ${first.path} before it began`);
    }
  }

  if (final) {
    checkFinal(final, kinds, acked, batches, increments, flag);
    checkIndex(final, flag);
    checkListeners(history, final, flag);
  }

  const counts: Partial<Record<AnomalyKind, number>> = {};
  for (const a of anomalies) counts[a.kind] = (counts[a.kind] ?? 0) + 1;
  return {
    ok: anomalies.length === 0,
    anomalies,
    counts,
    stats: {
      ops: ops.length,
      ok: ops.filter((o) => o.outcome === "ok").length,
      fail: ops.filter((o) => o.outcome === "fail").length,
      info: ops.filter((o) => o.outcome === "info").length,
      listenEvents: events.length,
      listeners: new Set(events.map((e) => e.listener)).size,
      paths: kinds.size,
    },
  };
}

type Flag = (kind: AnomalyKind, path: string | undefined, detail: string) => void;
type Acked = Map<string, { at: number; version: number; op: Op }[]>;

function checkRealTime(observations: Observation[], acked: Acked, flag: Flag) {
  const byPath = new Map<string, { at: number; version: number; source: string }[]>();
  const add = (path: string, e: { at: number; version: number; source: string }) => {
    if (!byPath.has(path)) byPath.set(path, []);
    byPath.get(path)!.push(e);
  };
  for (const [path, list] of acked) for (const a of list) add(path, { at: a.at, version: a.version, source: `${a.op.input.f} #${a.op.id}` });
  for (const o of observations) if (o.strong && o.doc) add(o.path, { at: o.completedAt, version: o.doc.version, source: o.source });
  // Prefix maxima over completion time, searched by each read's invocation.
  const prefix = new Map<string, { at: number[]; max: { version: number; source: string }[] }>();
  for (const [path, list] of byPath) {
    list.sort((a, b) => a.at - b.at);
    const max: { version: number; source: string }[] = [];
    for (const e of list) max.push(!max.length || e.version > max[max.length - 1].version ? e : max[max.length - 1]);
    prefix.set(path, { at: list.map((e) => e.at), max });
  }
  for (const o of observations) {
    if (!o.strong) continue;
    const p = prefix.get(o.path);
    if (!p) continue;
    let lo = 0;
    let hi = p.at.length; // first index with at >= invokedAt
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (p.at[mid] < o.invokedAt) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) continue;
    const before = p.max[lo - 1];
    const version = o.doc?.version ?? -1;
    if (version < before.version) {
      flag("stale-read", o.path, `${o.source} saw ${o.doc ? `v${version}` : "nothing"} after ${before.source} had v${before.version}`);
    }
  }
}

function checkFinal(final: NonNullable<History["final"]>, kinds: Map<string, Kind>, acked: Acked, batches: Map<string, Op>, increments: Map<string, Op[]>, flag: Flag) {
  for (const [path] of kinds) {
    if (!(path in final.reads)) flag("lost-write", path, "the final state has no read of this path");
  }
  for (const [path, list] of acked) {
    const doc = final.reads[path];
    const top = list.reduce((a, b) => (b.version > a.version ? b : a));
    if (!doc) flag("lost-write", path, `gone at the end, but v${top.version} was acknowledged (${top.op.input.f} #${top.op.id})`);
    else if (doc.version < top.version) flag("lost-write", path, `v${doc.version} at the end, but v${top.version} was acknowledged (${top.op.input.f} #${top.op.id})`);
  }
  for (const [id, b] of batches) {
    if (b.input.f !== "batch") continue;
    const paths = b.input.paths;
    const applied = paths.filter((p) => {
      const doc = final.reads[p];
      return doc ? Boolean(seenOf(doc)[id]) : false;
    });
    if (b.outcome === "ok" && applied.length < paths.length) {
      flag(applied.length ? "torn-batch" : "lost-write", undefined, `batch ${id} acknowledged, applied on ${applied.length} of ${paths.length} documents at the end`);
    } else if (b.outcome === "fail" && applied.length) {
      flag("phantom", undefined, `batch ${id} was refused but is applied on ${applied.join(", ")}`);
    } else if (b.outcome === "info" && applied.length && applied.length < paths.length) {
      flag("torn-batch", undefined, `batch ${id} (outcome unknown) applied on ${applied.length} of ${paths.length} documents at the end`);
    }
  }
  for (const [path, list] of increments) {
    const sum = (os: Op[]) => os.reduce((s, o) => s + (o.input.f === "increment" ? o.input.amount : 0), 0);
    const least = sum(list.filter((o) => o.outcome === "ok"));
    const most = least + sum(list.filter((o) => o.outcome === "info"));
    const n = Number(final.reads[path]?.data.n ?? 0);
    if (n < least || n > most) {
      flag("counter-mismatch", path, `n=${n} at the end; acknowledged increments sum to ${least}${most > least ? ` (up to ${most} with those whose outcome is unknown)` : ""}`);
    }
  }
}

function checkIndex(final: NonNullable<History["final"]>, flag: Flag) {
  const indexed = new Map(final.index.map((d) => [d.path, d]));
  const collections = new Set(Object.keys(final.reads).map(collectionOf));
  for (const [path, doc] of Object.entries(final.reads)) {
    const row = indexed.get(path);
    if (doc && !row) flag("index-mismatch", path, `v${doc.version} is missing from the index`);
    else if (!doc && row) flag("index-mismatch", path, `the index holds v${row.version} of a document that does not exist`);
    else if (doc && row && (row.version !== doc.version || canonical(row.data) !== canonical(doc.data))) {
      flag("index-mismatch", path, `the index holds v${row.version}, the document is at v${doc.version}`);
    }
  }
  for (const [path, row] of indexed) {
    if (!(path in final.reads) && collections.has(collectionOf(path))) flag("index-mismatch", path, `the index holds v${row.version} of a document the run never wrote`);
  }
}

function inScope(scope: Scope, path: string) {
  return "docs" in scope ? scope.docs.includes(path) : collectionOf(path) === scope.collection;
}

function checkListeners(history: History, final: NonNullable<History["final"]>, flag: Flag) {
  // In order: per listener and document, each version after the last one heard (equal only again in a new snapshot).
  const last = new Map<string, { version: number; seq: number }>();
  const resetAt = new Map<string, number>();
  history.events.forEach((e, seq) => {
    if (!("path" in e)) return void resetAt.set(e.listener, seq);
    if (!e.doc) return;
    const key = `${e.listener}|${e.path}`;
    const prev = last.get(key);
    const newSnapshot = prev !== undefined && (resetAt.get(e.listener) ?? -1) > prev.seq;
    if (prev && (e.doc.version < prev.version || (e.doc.version === prev.version && !newSnapshot))) {
      flag("listener-reorder", e.path, `listener ${e.listener} heard v${e.doc.version} after v${prev.version}`);
    }
    last.set(key, { version: Math.max(e.doc.version, prev?.version ?? 0), seq });
  });
  // Caught up: each listener ends with exactly the documents in its scope.
  for (const [name, l] of Object.entries(final.listeners)) {
    const want = new Map(Object.entries(final.reads).filter(([p, d]) => d && inScope(l.scope, p)) as [string, DocSnap][]);
    const got = new Map(l.docs.map((d) => [d.path, d]));
    for (const [path, doc] of want) {
      const g = got.get(path);
      if (!g) flag("listener-divergence", path, `listener ${name} ends without v${doc.version}`);
      else if (g.version !== doc.version) flag("listener-divergence", path, `listener ${name} ends at v${g.version}, the document is at v${doc.version}`);
    }
    for (const [path, g] of got) if (!want.has(path)) flag("listener-divergence", path, `listener ${name} ends with v${g.version} of a document that does not exist`);
  }
}
