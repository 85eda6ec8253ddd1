/**
 * The index verifier (POST /v1/admin/verify, `npm run blaze -- verify`): one
 * page of one shard's documents at a time, compared with what every index
 * database holds for them (engine/index/verify.ts), so a caller walks any
 * number of documents in calls that each stay within a Worker's limits.
 *
 * Order of reads: the shard's page first (its last seq then is `head`), then
 * the shard's applied state, then the index. A document whose seq the index
 * has not applied yet is `pending`, not a difference; one whose rows moved
 * past `head` meanwhile is `concurrent`.
 *
 * Repair goes through the consumer's own statements (engine/index/apply.ts
 * in RepairMode, engine/pipeline/apply-current.ts): the page's version of each
 * differing document is applied again under the seq guard (its full-text
 * rows up to its seq rewritten in every search index), and rows for
 * documents the shard has no record of are deleted if no newer than `head`;
 * nothing newer than what the shard said is ever overwritten.
 */
import { clearStatements, type ResolvedChange } from "../index/apply";
import type { SQL } from "drizzle-orm";
import { compareIndexed, type DifferenceKind, type DocsPage, type Difference, type TruthDoc } from "../index/verify";
import { readIndexedRows, readRangeCandidates, type PageRange } from "../index/verify-read";
import { readySearchIndexes } from "../index/verify-search";
import { parseDocumentPath } from "../core/paths";
import type { DocumentData } from "../core/values";
import { describeError, indexDbOf, type ConsumerDeps } from "./apply-changes";
import { applyCurrent } from "./apply-current";
import { isApplied, readAppliedState } from "./watermarks";

/** Documents per page by default, and at most. */
export const VERIFY_PAGE_DEFAULT = 500;
export const VERIFY_PAGE_MAX = 1000;
/** Documents a failed page repair tries one by one (a D1 batch each; D1 allows 1,000 queries per invocation). */
export const REPAIR_ALONE_MAX = 50;
/** Examples kept per kind of difference in one page's answer. */
const EXAMPLES_PER_KIND = 3;

export interface VerifyDeps extends ConsumerDeps {
  shardOf(path: string): number;
  docsPage(shard: number, after: string, limit: number, collectionId?: string): Promise<DocsPage>;
}

export interface VerifyRequest {
  shard: number;
  /** The page starts after this path ("" for the shard's first page). */
  after: string;
  limit: number;
  collectionId?: string;
  repair: boolean;
}

export interface VerifyPageResult {
  shard: number;
  /** `after` of the shard's next page; null when this was its last. */
  next: string | null;
  /** Documents compared (the shard's, and rows of documents it has no record of). */
  checked: number;
  /** Documents whose latest change the index has not applied yet (not differences). */
  pending: number;
  /** Documents written while the page was compared (skipped). */
  concurrent: number;
  /** Differences by kind (documents, or entries for the entry kinds). */
  differences: Partial<Record<DifferenceKind, number>>;
  /** Documents with any difference. */
  documents: number;
  examples: Difference[];
  /** Documents repaired (with `repair`). */
  repaired: number;
  /** Why the repair of this page failed, if it did; its documents were then tried one by one. */
  repairError?: string;
  /** Documents whose repair failed alone, with why (a quarantined one: replay-quarantined once its cause is fixed). */
  repairFailed?: { path: string; reason: string }[];
}

export async function verifyPage(deps: VerifyDeps, req: VerifyRequest): Promise<VerifyPageResult> {
  const page = await deps.docsPage(req.shard, req.after, req.limit, req.collectionId);
  const applied = await readAppliedState(deps.dbs[0], req.shard);
  const range: PageRange = { shard: req.shard, after: req.after, upTo: page.done ? null : page.last, collectionId: req.collectionId };
  const truth = new Map(page.docs.map((d) => [d.path, d]));
  const ours = (path: string) =>
    deps.shardOf(path) === req.shard && (req.collectionId === undefined || parseDocumentPath(path).collectionId === req.collectionId);

  const result: VerifyPageResult = { shard: req.shard, next: page.done ? null : page.last, checked: 0, pending: 0, concurrent: 0, differences: {}, documents: 0, examples: [], repaired: 0 };
  const pending = new Set(page.docs.filter((d) => !isApplied(applied, d.seq, d.seq)).map((d) => d.path));
  const checked = new Set<string>();
  const differing = new Set<string>();
  const concurrent = new Set<string>();
  const changes = new Map<string, ResolvedChange>();
  const clears = new Map<number, string[]>();

  await Promise.all(
    deps.dbs.map(async (db, i) => {
      const candidates = await readRangeCandidates(db, range);
      const paths = [...new Set([...truth.keys(), ...[...candidates.claimed, ...candidates.orphaned].filter(ours)])].filter((p) => !pending.has(p));
      const rows = await readIndexedRows(db, paths, readySearchIndexes(deps.indexConfig, candidates.ready));
      for (const path of paths) {
        checked.add(path);
        const doc = truth.get(path);
        const here = doc && indexDbOf(doc, deps) === i ? doc : null;
        const c = compareIndexed(path, here, page.head, rows.get(path)!, deps.indexConfig, candidates.ready);
        if (c.concurrent) {
          concurrent.add(path);
          continue;
        }
        if (c.differences.length === 0) continue;
        differing.add(path);
        for (const d of c.differences) {
          result.differences[d.kind] = (result.differences[d.kind] ?? 0) + d.count;
          if (result.examples.filter((e) => e.kind === d.kind).length < EXAMPLES_PER_KIND) result.examples.push(d);
        }
        if (here) changes.set(path, asChange(req.shard, here));
        else clears.set(i, [...(clears.get(i) ?? []), path]);
      }
    }),
  );
  result.checked = checked.size;
  result.pending = pending.size;
  result.concurrent = concurrent.size;
  result.documents = differing.size;

  if (req.repair && differing.size > 0) await repair(deps, page.head, [...differing], changes, clears, result);
  return result;
}

/**
 * Repairs a page's differing documents in one batch per index database; if
 * that fails (a document the index cannot take, such as a quarantined one),
 * each document alone, up to REPAIR_ALONE_MAX, so one cannot hold back the rest.
 */
async function repair(deps: VerifyDeps, head: number, paths: string[], changes: Map<string, ResolvedChange>, clears: Map<number, string[]>, result: VerifyPageResult) {
  const run = (only: Set<string> | null) => {
    const pick = (p: string) => only === null || only.has(p);
    const extra = new Map<number, SQL[]>(
      [...clears].map(([i, list]) => [i, list.filter(pick)] as const).filter(([, list]) => list.length > 0).map(([i, list]) => [i, clearStatements(list, head, deps.indexConfig)]),
    );
    return applyCurrent(deps, [...changes.values()].filter((c) => pick(c.path)), { repair: { head }, extra });
  };
  try {
    await run(null);
    result.repaired = paths.length;
    return;
  } catch (e) {
    result.repairError = describeError(e);
  }
  result.repairFailed = [];
  for (const path of paths.slice(0, REPAIR_ALONE_MAX)) {
    try {
      await run(new Set([path]));
      result.repaired++;
    } catch (e) {
      result.repairFailed.push({ path, reason: describeError(e) });
    }
  }
  const untried = paths.length - Math.min(paths.length, REPAIR_ALONE_MAX);
  result.repairError = `the page's repair failed (${result.repairError}); documents repaired alone: ${result.repaired}, failed: ${result.repairFailed.length}` +
    (untried > 0 ? `, not tried: ${untried} (run --repair again)` : "");
}

/** The shard's version of a document as the change that makes it. */
function asChange(shard: number, d: TruthDoc): ResolvedChange {
  return {
    shard, seq: d.seq, path: d.path, op: d.deleted ? "delete" : "set", version: d.version, updateTime: d.updateTime, existed: true,
    ...(d.deleted ? {} : { data: JSON.parse(d.data!) as DocumentData, createTime: d.createTime ?? d.updateTime }),
  };
}
