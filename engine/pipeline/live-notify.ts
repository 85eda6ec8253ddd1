/**
 * After the consumer has applied a batch, each live query registered on a
 * collection the batch touched gets the changes that can affect its result
 * (one call per live query per batch, none when nothing concerns it):
 * changes whose new state matches its filter (they may enter or move), and
 * changes to documents listed in its result (they may leave). Aggregate
 * queries get every change of their collection. The registrations and the
 * result lists were read in the same D1 batch as the apply, so nothing
 * committed after a registration is missed (docs/live.md).
 *
 * Matching does not evaluate every registration for every change:
 * registrations whose filter requires `field == value` (in its only
 * conjunction) are indexed by that field and value, and a change is
 * checked only against those its own value selects, plus the rest.
 */
import { parseDocumentPath } from "../core/paths";
import { parseQuery } from "../core/query/ast";
import { matchesQuery } from "../core/query/evaluate";
import { normalizeQuery, type NormalizedQuery } from "../core/query/normalize";
import { enableSearch } from "../core/query/search-spec";
import { getField } from "../core/field-path";
import type { DocumentData, Value } from "../core/values";
import { encodeValue } from "../index/encoding";
import { bytesKey } from "../index/entries";
import type { ResolvedChange } from "../index/apply";
import type { LiveMember, LiveRegistration } from "../index/live-registrations";

export type NotifyLive = (queryKey: string, changes: ResolvedChange[]) => Promise<void>;

// Stored live queries may search: their changes are matched with the reference matcher.
enableSearch();

// Normalized queries by registration key, per isolate (a key names one query forever).
const parsed = new Map<string, NormalizedQuery | null>();
const MAX_PARSED = 10_000;

function queryOf(r: LiveRegistration): NormalizedQuery | null {
  let nq = parsed.get(r.query_key);
  if (nq === undefined) {
    try {
      nq = normalizeQuery(parseQuery(JSON.parse(r.query)));
    } catch {
      nq = null; // an old registration without its query: sent everything
    }
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(r.query_key, nq);
  }
  return nq;
}

/** `field == value` that every document of the result must satisfy, if the filter has one. */
function requiredEquality(nq: NormalizedQuery): { segments: string[]; field: string; value: string } | null {
  if (nq.dnf.length !== 1) return null;
  const eq = nq.dnf[0].find((f) => f.op === "==" && f.field !== "__name__");
  return eq ? { segments: eq.segments, field: eq.field, value: valueKey(eq.value) } : null;
}

/** Equal values, equal keys (-0 and 0, any NaN): the index encoding's bytes. */
const valueKey = (v: Value) => bytesKey(encodeValue(v));

/** Which changes each live query must hear about. Pure; exported for tests. */
export function routeChanges(registrations: LiveRegistration[], members: LiveMember[], changes: ResolvedChange[]): Map<string, ResolvedChange[]> {
  const regs = [...new Map(registrations.map((r) => [r.query_key, r])).values()];
  // Per document, the live queries whose result holds it.
  const holders = new Map<string, string[]>();
  for (const m of members) holders.set(m.path, [...(holders.get(m.path) ?? []), m.query_key]);
  const byKey = new Map(regs.map((r) => [r.query_key, r]));
  // The index: field -> value -> registrations; the rest are checked one by one.
  const indexed = new Map<string, { segments: string[]; byValue: Map<string, LiveRegistration[]> }>();
  const general: LiveRegistration[] = [];
  for (const r of regs) {
    const nq = queryOf(r);
    const eq = nq && nq.aggregate === null ? requiredEquality(nq) : null;
    if (!eq) {
      general.push(r);
      continue;
    }
    const slot = indexed.get(eq.field) ?? { segments: eq.segments, byValue: new Map() };
    slot.byValue.set(eq.value, [...(slot.byValue.get(eq.value) ?? []), r]);
    indexed.set(eq.field, slot);
  }
  const out = new Map<string, ResolvedChange[]>();
  const add = (key: string, c: ResolvedChange) => {
    const list = out.get(key);
    if (list) list.push(c);
    else out.set(key, [c]);
  };
  for (const c of changes) {
    const collectionId = parseDocumentPath(c.path).collectionId;
    const doc = c.op === "set" && c.data ? { path: c.path, data: c.data as DocumentData } : null;
    const candidates = [...general];
    for (const slot of indexed.values()) {
      const v = doc ? getField(doc.data, slot.segments) : undefined;
      if (v !== undefined) candidates.push(...(slot.byValue.get(valueKey(v)) ?? []));
    }
    const sent = new Set<string>();
    for (const r of candidates) {
      if (r.collection_id !== collectionId) continue;
      const nq = queryOf(r);
      if (nq === null || nq.aggregate !== null || (doc !== null && matchesQuery(doc, nq))) {
        add(r.query_key, c);
        sent.add(r.query_key);
      }
    }
    // A document in a result whose new state no longer matches: it leaves.
    for (const key of holders.get(c.path) ?? []) {
      if (!sent.has(key) && byKey.get(key)?.collection_id === collectionId) add(key, c);
    }
  }
  return out;
}

/**
 * How long the consumer waits for a live query to take its changes before
 * it goes on (the call goes on too). A live query busy with a strong read
 * waits for the index, that is for the consumer's next batches: waiting on
 * it without bound would stall both until the read gave up.
 */
export const LIVE_NOTIFY_WAIT_MS = 1000;

export async function notifyLiveQueries(
  registrations: LiveRegistration[],
  members: LiveMember[],
  changes: ResolvedChange[],
  notify: NotifyLive,
  waitMs = LIVE_NOTIFY_WAIT_MS,
): Promise<void> {
  if (registrations.length === 0) return;
  const routed = routeChanges(registrations, members, changes);
  // A live query that cannot be reached catches up on its own (it re-reads
  // the index on a timer), so a failure here does not fail the batch.
  const calls = [...routed].map(([key, cs]) =>
    notify(key, cs.sort((a, b) => a.seq - b.seq)).catch((e) => console.error("blaze: could not notify a live query", e)),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)));
  await Promise.race([Promise.all(calls), gaveUp]);
  clearTimeout(timer);
}
