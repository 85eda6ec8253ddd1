// `npm run blaze -- dlq replay`: calls POST /v1/admin/dlq/replay
// (engine/pipeline/dead-letters.ts) until no dead letter is left, and sums
// the counts. Replaying twice is harmless: each dead letter is handled once.
import { adminPost } from "./admin-api.mjs";

const COUNTS = ["replayed", "changes", "alreadyApplied", "backfills", "unreplayable"];

export async function replayAllDeadLetters(target) {
  const totals = Object.fromEntries([...COUNTS, "left"].map((k) => [k, 0]));
  for (;;) {
    const r = await adminPost(target, "/v1/admin/dlq/replay");
    for (const k of COUNTS) totals[k] += r[k];
    totals.left = r.left;
    // A call that handled nothing while some are left would loop forever.
    if (r.left === 0 || COUNTS.every((k) => r[k] === 0)) return totals;
  }
}

export function formatDlqReplay(t, where) {
  const handled = COUNTS.filter((k) => k !== "changes").reduce((n, k) => n + t[k], 0);
  if (handled === 0) return [`No dead letters to replay on ${where}.`];
  return [
    `Replayed ${handled} dead letters on ${where}:`,
    `  ${t.replayed} change messages sent back into the pipeline (${t.changes} changes, from the shards' outboxes)`,
    `  ${t.alreadyApplied} already applied since (the outbox had sent them again)`,
    `  ${t.backfills} backfill messages (one new backfill request)`,
    `  ${t.unreplayable} malformed (kept in dead_letters with their reason; nothing to replay)`,
    ...(t.left > 0 ? [`${t.left} left; run it again.`] : []),
  ];
}
