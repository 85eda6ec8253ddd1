// `npm run blaze -- verify [--repair] [--collection <id>]`: walks every shard's
// documents page by page through POST /v1/admin/verify (engine/pipeline/verify.ts)
// and sums what the pages report. docs/reliability.md explains the kinds.
import { adminPost } from "./admin-api.mjs";

/** Shards walked at once. */
const PARALLEL = 4;
const EXAMPLES_PER_KIND = 3;

/** `{ shards, checked, pending, concurrent, documents, repaired, differences, examples, repairErrors }` over every page. */
export async function verifyIndex(target, { repair = false, collection, limit, onPage = () => {} } = {}) {
  const totals = { shards: 0, checked: 0, pending: 0, concurrent: 0, documents: 0, repaired: 0, differences: {}, examples: [], repairErrors: [] };
  const walk = async (shard) => {
    let after = "";
    while (after !== null) {
      const page = await adminPost(target, "/v1/admin/verify", { shard, after, repair, ...(collection ? { collection } : {}), ...(limit ? { limit } : {}) });
      totals.shards = page.shards;
      for (const k of ["checked", "pending", "concurrent", "documents", "repaired"]) totals[k] += page[k];
      for (const [kind, n] of Object.entries(page.differences)) totals.differences[kind] = (totals.differences[kind] ?? 0) + n;
      for (const e of page.examples) if (totals.examples.filter((x) => x.kind === e.kind).length < EXAMPLES_PER_KIND) totals.examples.push(e);
      if (page.repairError) totals.repairErrors.push({ shard, after, reason: page.repairError, failed: page.repairFailed ?? [] });
      onPage(totals);
      after = page.next;
    }
  };
  // The first page says how many shards there are.
  await walk(0);
  const rest = Array.from({ length: totals.shards - 1 }, (_, i) => i + 1);
  const workers = Array.from({ length: Math.min(PARALLEL, rest.length) }, async () => {
    for (let s = rest.shift(); s !== undefined; s = rest.shift()) await walk(s);
  });
  await Promise.all(workers);
  return totals;
}

/** The report as lines. */
export function formatVerify(t, { repair, where }) {
  const lines = [];
  const kinds = Object.entries(t.differences);
  const total = kinds.reduce((n, [, c]) => n + c, 0);
  lines.push(`Checked ${t.checked} documents on ${t.shards} shards of ${where}: ${total === 0 ? "the index matches the shards" : `${total} differences in ${t.documents} documents`}.`);
  for (const [kind, n] of kinds.sort()) {
    lines.push(`  ${kind.padEnd(18)} ${String(n).padStart(7)}`);
    for (const e of t.examples.filter((x) => x.kind === kind)) lines.push(`      e.g. ${e.path}: ${e.detail}`);
  }
  if (t.pending) lines.push(`${t.pending} documents have changes the index has not applied yet (not differences; GET /v1/status shows the lag).`);
  if (t.concurrent) lines.push(`${t.concurrent} documents were written while being compared (skipped; run again to check them).`);
  if (repair) {
    lines.push(`Repaired ${t.repaired} documents through the versioned apply path; run verify again to confirm.`);
    for (const e of t.repairErrors) {
      lines.push(`  repair failed on shard ${e.shard} after ${JSON.stringify(e.after)}: ${e.reason}`);
      for (const f of e.failed.slice(0, EXAMPLES_PER_KIND)) lines.push(`      ${f.path}: ${f.reason}`);
    }
  } else if (total > 0) lines.push("Run again with --repair to fix them.");
  return lines;
}
