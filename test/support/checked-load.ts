/**
 * A checked load inside workerd: the mixed scenario (writes, batches,
 * increments, reads, queries, document and query listeners) against the
 * real Worker in-process, a fault injected while it runs, then the history
 * checker (loadtest/lib/checker.ts) over everything that happened, and the
 * D1 index compared row by row with the documents read back at the end.
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { History } from "../../loadtest/k6/lib/history";
import { mixed } from "../../loadtest/k6/scenarios/mixed";
import { canonical } from "../../loadtest/lib/checker";
import { runScenario, type RunHandle, type RunResult } from "../../loadtest/lib/harness/run";
import { summary } from "../../loadtest/lib/harness/summary";
import { indexDatabases, parseTopology } from "../../engine/index/routing";
import { IN_PROCESS_URL, inProcess } from "./in-process";

export interface CheckedLoadOptions {
  /** Load time (default 8 s). */
  durationMs?: number;
  /** How long the end waits for the index and listeners to catch up (default 30 s). */
  settleMs?: number;
  /** Scales every group of the mixed scenario (default 0.5: 2 writers, 1 reader, 3 listening sockets). */
  scale?: number;
  /** Batch documents move to a new generation this often (default 3 s: every checked load crosses a few, listeners and the final check with them). */
  batchGenerationMs?: number;
  during?: (run: RunHandle) => Promise<void>;
}

export async function checkedLoad(o: CheckedLoadOptions): Promise<{ result: RunResult; history: History; text: string }> {
  const { result, history } = await runScenario(mixed, {
    url: IN_PROCESS_URL,
    transport: inProcess,
    durationMs: o.durationMs ?? 8_000,
    settleMs: o.settleMs ?? 30_000,
    scale: o.scale ?? 0.5,
    batchGenerationMs: o.batchGenerationMs ?? 3_000,
    progressMs: 0,
    log: () => {},
    during: o.during,
  });
  return { result, history, text: summary(result) };
}

/** Every row of the `documents` tables of every index database for these collections. */
async function indexRows(collections: string[]): Promise<Map<string, { version: number; data: string }>> {
  const rows = new Map<string, { version: number; data: string }>();
  const marks = collections.map(() => "?").join(", ");
  for (const db of indexDatabases(env as unknown as Record<string, unknown>, parseTopology(env))) {
    const { results } = await db
      .prepare(`SELECT path, version, data FROM documents WHERE collection_path IN (${marks})`)
      .bind(...collections)
      .all<{ path: string; version: number; data: string }>();
    for (const r of results) rows.set(r.path, { version: r.version, data: canonical(JSON.parse(r.data)) });
  }
  return rows;
}

/**
 * The run passed: the checker found nothing, the run did real work, the
 * D1 index (read directly, not through the query API) holds exactly the
 * documents read at the end, at their versions and with their data, and
 * some listener heard each of those documents.
 */
export async function expectCheckedAndIndexed(run: { result: RunResult; history: History; text: string }, minOk = 30): Promise<void> {
  const { result, history, text } = run;
  expect(result.check?.anomalies, text).toEqual([]);
  expect(result.check?.stats.ok ?? 0, text).toBeGreaterThan(minOk);
  expect(result.iterationErrors, text).toBe(0);
  const final = history.final!;
  const collections = [...new Set(Object.keys(final.reads).map((p) => p.slice(0, p.lastIndexOf("/"))))];
  const rows = await indexRows(collections);
  const docs = Object.entries(final.reads).filter(([, d]) => d !== null);
  const diff: string[] = [];
  for (const [path, doc] of docs) {
    const row = rows.get(path);
    if (!row) diff.push(`${path}: v${doc!.version} missing from D1`);
    else if (row.version !== doc!.version || row.data !== canonical(doc!.data)) diff.push(`${path}: D1 holds v${row.version}, the document is v${doc!.version}`);
  }
  for (const path of rows.keys()) if (!final.reads[path]) diff.push(`${path}: in D1, not a document`);
  expect(diff, text).toEqual([]);
  expect(rows.size, text).toBe(docs.length);
  // Listeners followed the run: every document (batch documents of every generation too) was heard by one.
  const heard = new Set(history.events.flatMap((e) => ("path" in e ? [e.path] : [])));
  expect(docs.map(([path]) => path).filter((path) => !heard.has(path)), text).toEqual([]);
  const st = result.check!.stats;
  console.log(`checked: ${st.ops} operations (${st.ok} acknowledged, ${st.fail} refused, ${st.info} unknown), ${st.listenEvents} listener events, ${docs.length} documents = ${rows.size} D1 rows, ${result.seconds.toFixed(1)} s of load`);
}
