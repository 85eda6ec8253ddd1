// Index verifier at scale (docs/reliability.md): BENCH_VERIFY_DOCS documents
// (default 100,000; 5 fields and a 2-element array each) loaded through
// POST /v1/batch into a fresh `wrangler dev`, then, after the index caught
// up, `npm run blaze -- verify`'s own walk (scripts/verify.mjs) timed: a
// clean pass, a pass after BENCH_VERIFY_BROKEN document rows were deleted
// from D1 behind Blaze's back, the --repair pass, and the clean pass after.
// Reported: seconds per pass, documents per second, and how many calls.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { d1Query, migrate, startDevServer } from "../lib/dev-server.mjs";
import { writeBenchConfig } from "../lib/bench-config.mjs";
import { fmt, mustOk } from "../lib/measure.mjs";
import { verifyIndex } from "../../scripts/verify.mjs";

const DOCS = Number(process.env.BENCH_VERIFY_DOCS ?? 100_000);
const BROKEN = Number(process.env.BENCH_VERIFY_BROKEN ?? 100);
const PER_CALL = 500;
const IN_FLIGHT = 4;

const doc = (i) => ({ n: i, name: `doc ${i}`, group: `g${i % 50}`, tags: [`t${i % 10}`, `u${i % 7}`], nested: { k: i % 5 } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function run() {
  const config = writeBenchConfig({});
  const persistTo = mkdtempSync(join(tmpdir(), "blaze-bench-verify-"));
  await migrate({ config, persistTo });
  const server = await startDevServer({ config, persistTo });
  try {
    const admin = await server.adminHeaders();
    const post = (path, body) =>
      fetch(`${server.url}${path}`, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json", ...admin } }).then(mustOk).then((r) => r.json());
    const loadStart = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        for (let from = next; from < DOCS; from = next) {
          next += PER_CALL;
          const writes = Array.from({ length: Math.min(PER_CALL, DOCS - from) }, (_, k) => ({ op: "set", path: `items/d${from + k}`, data: doc(from + k) }));
          await post("/v1/batch", { writes });
        }
      }),
    );
    for (;;) {
      const st = await fetch(`${server.url}/v1/status`, { headers: admin }).then(mustOk).then((r) => r.json());
      if (st.shards.every((s) => s.lagChanges === 0)) break;
      await sleep(250);
    }
    console.log(`loaded and indexed ${DOCS} documents in ${fmt((Date.now() - loadStart) / 1000, 1)} s`);

    const target = { url: server.url, key: (await server.adminKey()) };
    const pass = async (label, opts = {}) => {
      let calls = 0;
      const start = Date.now();
      const t = await verifyIndex(target, { ...opts, onPage: () => calls++ });
      const seconds = (Date.now() - start) / 1000;
      const differences = Object.values(t.differences).reduce((n, c) => n + c, 0);
      console.log(`  ${label.padEnd(16)} ${fmt(seconds, 1).padStart(6)} s  ${fmt(t.checked / seconds, 0).padStart(6)} docs/s  ${String(calls).padStart(4)} calls  checked ${t.checked}  differences ${differences}  repaired ${t.repaired}`);
      return { label, seconds, calls, checked: t.checked, differences, repaired: t.repaired, pending: t.pending };
    };
    const passes = [await pass("clean")];
    await d1Query({ config, persistTo, sql: `DELETE FROM documents WHERE path IN (SELECT path FROM documents ORDER BY path LIMIT ${BROKEN})` });
    passes.push(await pass("after damage"), await pass("repair", { repair: true }), await pass("after repair"));
    return { passes, config: { DOCS, BROKEN, PER_CALL, IN_FLIGHT } };
  } finally {
    await server.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }
}
