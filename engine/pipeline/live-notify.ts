/**
 * After the consumer has applied a batch, each live query registered on a
 * collection the batch touched gets that collection's changes (one call per
 * live query per batch). The registrations were read in the same D1 batch
 * as the apply, so no change committed after a registration is missed; the
 * live query itself decides what each change does to its result.
 */
import { parseDocumentPath } from "../core/paths";
import type { ResolvedChange } from "../index/apply";
import type { LiveRegistration } from "../index/live-registrations";

export type NotifyLive = (queryKey: string, changes: ResolvedChange[]) => Promise<void>;

export async function notifyLiveQueries(registrations: LiveRegistration[], changes: ResolvedChange[], notify: NotifyLive): Promise<void> {
  if (registrations.length === 0) return;
  const byCollection = new Map<string, ResolvedChange[]>();
  for (const c of changes) {
    const id = parseDocumentPath(c.path).collectionId;
    byCollection.set(id, [...(byCollection.get(id) ?? []), c]);
  }
  const keys = new Map<string, ResolvedChange[]>();
  for (const r of registrations) {
    const cs = byCollection.get(r.collection_id);
    if (cs) keys.set(r.query_key, [...(keys.get(r.query_key) ?? []), ...cs]);
  }
  // A live query that cannot be reached catches up on its own (it re-reads
  // the index on a timer), so a failure here does not fail the batch.
  const results = await Promise.allSettled([...keys].map(([key, cs]) => notify(key, dedupe(cs))));
  results.forEach((r) => r.status === "rejected" && console.error("blaze: could not notify a live query", r.reason));
}

/** The same change may be listed once per registration database; keep one per path and seq. */
function dedupe(changes: ResolvedChange[]): ResolvedChange[] {
  const seen = new Map<string, ResolvedChange>();
  for (const c of changes) seen.set(`${c.path}\u0000${c.seq}`, c);
  return [...seen.values()].sort((a, b) => a.seq - b.seq);
}
