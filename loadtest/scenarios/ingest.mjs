// Ingest: how fast the index takes documents, in one run:
// (1) apply rate without the queue: the consumer's statements
//     (engine/index/apply.ts, POST /__bench/seed) against plain multi-row
//     INSERTs of the same rows (POST /__bench/plain-insert), 500 documents a
//     call, alternating;
// (2) end to end: documents loaded through POST /v1/batch as fast as they
//     are acknowledged (500 writes a batch, 4 batches in flight); the
//     acknowledged rate, the index apply rate, the time from the last
//     acknowledgement until the index holds every document, and the changes
//     the queue delivered per change written.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, startDevServer } from "../lib/dev-server.mjs";
import { writeBenchConfig } from "../lib/bench-config.mjs";
import { fmt, median, mustOk } from "../lib/measure.mjs";

const DOCS = Number(process.env.BENCH_INGEST_DOCS ?? 20_000);
const APPLY_ROUNDS = Number(process.env.BENCH_APPLY_ROUNDS ?? 6);
const PER_CALL = 500;
const IN_FLIGHT = 4;

const post = (url, body) =>
  fetch(url, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } }).then(mustOk).then((r) => r.json());

function doc(i) {
  return { n: i, name: `doc ${i}`, group: `g${i % 50}`, tags: [`t${i % 10}`, `u${i % 7}`], nested: { k: i % 5 } };
}

export async function run() {
  const config = writeBenchConfig();
  const persistTo = mkdtempSync(join(tmpdir(), "blaze-bench-"));
  await migrate({ config, persistTo });
  const server = await startDevServer({ config, persistTo });
  try {
    // (1) apply rate, no queue.
    const apply = { blaze: [], plain: [] };
    let from = 0;
    for (let r = 0; r < APPLY_ROUNDS + 1; r++) {
      for (const [kind, path] of [["plain", "/__bench/plain-insert"], ["blaze", "/__bench/seed"]]) {
        const t0 = performance.now();
        for (let k = 0; k < 4; k++, from += PER_CALL) await post(`${server.url}${path}`, { collection: `apply_${kind}`, from, count: PER_CALL });
        const rate = (4 * PER_CALL) / ((performance.now() - t0) / 1000);
        if (r > 0) apply[kind].push(rate); // round 0 warms up
      }
    }
    const applyRate = { blaze: median(apply.blaze), plain: median(apply.plain) };
    console.log(
      `apply without the queue (${PER_CALL} docs a call, median of ${APPLY_ROUNDS} rounds of ${4 * PER_CALL}): ` +
        `consumer statements ${fmt(applyRate.blaze, 0)} docs/s, plain multi-row INSERT ${fmt(applyRate.plain, 0)} docs/s ` +
        `(${fmt(applyRate.blaze / applyRate.plain)}x)`,
    );

    // (2) end to end.
    const statsBefore = await fetch(`${server.url}/__bench/queue-stats`).then((r) => r.json());
    const started = performance.now();
    let next = 0;
    let lastAck = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        for (;;) {
          const at = next;
          next += PER_CALL;
          if (at >= DOCS) return;
          const writes = Array.from({ length: Math.min(PER_CALL, DOCS - at) }, (_, j) => ({ op: "set", path: `ingest/d${at + j}`, data: doc(at + j) }));
          await post(`${server.url}/v1/batch`, { writes });
          lastAck = performance.now();
        }
      }),
    );
    const ackSeconds = (lastAck - started) / 1000;
    let indexed = 0;
    for (;;) {
      indexed = (await fetch(`${server.url}/__bench/count?collection=ingest`).then((r) => r.json())).count;
      if (indexed >= DOCS) break;
      if (performance.now() - lastAck > 600_000) throw new Error(`index holds ${indexed} of ${DOCS} after 10 minutes`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const done = performance.now();
    // Let late duplicates arrive before counting deliveries.
    await new Promise((r) => setTimeout(r, 2000));
    const statsAfter = await fetch(`${server.url}/__bench/queue-stats`).then((r) => r.json());
    const summary = {
      docs: DOCS,
      applyDocsPerSecond: applyRate.blaze,
      plainInsertDocsPerSecond: applyRate.plain,
      ackedDocsPerSecond: DOCS / ackSeconds,
      indexDocsPerSecond: DOCS / ((done - started) / 1000),
      catchUpAfterLastAckMs: done - lastAck,
      queueMessages: statsAfter.messages - statsBefore.messages,
      changesDeliveredPerChange: (statsAfter.changes - statsBefore.changes) / DOCS,
    };
    console.log(`end to end, ${DOCS} documents through POST /v1/batch (${PER_CALL} a batch, ${IN_FLIGHT} in flight):`);
    console.log(`  acknowledged ${fmt(summary.ackedDocsPerSecond, 0)} docs/s; index ${fmt(summary.indexDocsPerSecond, 0)} docs/s`);
    console.log(`  index held every document ${fmt(summary.catchUpAfterLastAckMs / 1000)} s after the last acknowledgement`);
    console.log(`  queue: ${summary.queueMessages} messages, ${fmt(summary.changesDeliveredPerChange)} changes delivered per change`);
    return { summary, config: { DOCS, APPLY_ROUNDS, PER_CALL, IN_FLIGHT } };
  } finally {
    await server.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }
}
