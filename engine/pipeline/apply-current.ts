/**
 * Applying documents' current state, read from their shards, outside the
 * queue: a quarantine replay (./quarantine.ts) and an index verifier repair
 * (./verify.ts). As the consumer does: each index database's statements in
 * one D1 batch guarded by the index config, with the live-query
 * registrations of the touched collections read in the same batch, then
 * those live queries are told (as a repair: they may have counted the seq
 * as seen). The meta database's batch runs last, so its `extra` statements
 * (closing a quarantine gap) run only once every other database took its rows.
 */
import type { SQL } from "drizzle-orm";
import { parseDocumentPath } from "../core/paths";
import type { RepairMode, ResolvedChange } from "../index/apply";
import { runGuarded } from "../index/config-owner";
import { liveMembersOf, liveQueriesOn, type LiveMember, type LiveRegistration } from "../index/live-registrations";
import { indexDbOf, ownIndexConfig, statementsByDb, type ConsumerDeps } from "./apply-changes";
import { notifyLiveQueries } from "./live-notify";

export interface ApplyCurrentOptions {
  /** Rewrite the versions named even where the index claims them (engine/index/apply.ts RepairMode). */
  repair?: RepairMode;
  /** More statements per index database, run in its batch after the apply. */
  extra?: Map<number, SQL[]>;
}

export async function applyCurrent(deps: ConsumerDeps, changes: ResolvedChange[], opts: ApplyCurrentOptions = {}): Promise<void> {
  const hash = await ownIndexConfig(deps);
  const byDb = statementsByDb(changes, deps, opts.repair);
  const dbs = [...new Set([...byDb.keys(), ...(opts.extra?.keys() ?? [])])].sort((a, b) => (a === 0 ? 1 : b === 0 ? -1 : a - b));
  const registrations: LiveRegistration[] = [];
  const members: LiveMember[] = [];
  for (const i of dbs) {
    const statements = byDb.get(i) ?? [];
    const here = changes.filter((c) => indexDbOf(c, deps) === i);
    const live = statements.length > 0 ? [liveQueriesOn(here.map((c) => parseDocumentPath(c.path).collectionId)), liveMembersOf(here.map((c) => c.path))] : [];
    const out = await runGuarded<LiveRegistration | LiveMember>(deps.dbs[i], hash, [...statements, ...live, ...(opts.extra?.get(i) ?? [])]);
    if (live.length > 0) {
      registrations.push(...(out[statements.length] as LiveRegistration[]));
      members.push(...(out[statements.length + 1] as LiveMember[]));
    }
  }
  if (deps.notifyLive && changes.length > 0) {
    await notifyLiveQueries(registrations, members, changes.map((c) => ({ ...c, repair: true as const })), deps.notifyLive);
  }
}
