/**
 * Faults under the mixed load (loadtest/k6/scenarios/mixed.ts), each run
 * ending with the lossless history check (loadtest/lib/checker.ts) passing:
 * nothing acknowledged is lost, nothing is reordered or invented, in the
 * documents, the D1 index and every listener. Real `wrangler dev` processes;
 * each run is about 20-30 s of load.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { migrate, startDevServer } from "../../loadtest/lib/dev-server.mjs";
import { runScenario } from "../../loadtest/lib/harness/run";
import { summary } from "../../loadtest/lib/harness/summary";
import { mixed } from "../../loadtest/k6/scenarios/mixed";

const VARS = { OUTBOX_RESEND_MS: "1000" };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A migrated state folder of its own (removed after the test). */
async function freshState(): Promise<string> {
  const persistTo = mkdtempSync(join(tmpdir(), "blaze-faults-"));
  cleanups.push(() => rmSync(persistTo, { recursive: true, force: true }));
  await migrate({ persistTo });
  return persistTo;
}

describe("faults under mixed load, judged by the history checker", () => {
  it("listen sockets dropped mid-load: listeners resume and miss nothing", async () => {
    const server = await startDevServer({ persistTo: await freshState(), vars: VARS });
    cleanups.push(() => server.stop());
    const drops: number[] = [];
    let lastDropAt = 0;
    const { result, history } = await runScenario(mixed, {
      url: server.url,
      durationMs: 20_000,
      // New batch documents every 6 s: the drops land in different generations, which listeners must follow.
      batchGenerationMs: 6_000,
      progressMs: 0,
      log: () => {},
      during: async (run) => {
        for (const at of [4_000, 9_000, 14_000]) {
          await run.sleep(at - run.elapsed());
          drops.push(run.dropSockets());
          lastDropAt = Date.now();
        }
      },
    });
    const text = summary(result);
    expect(drops.every((n) => n > 0), text).toBe(true);
    // Document listeners came back with their resume tokens: changes kept flowing after each drop.
    const after = history.events.filter((e) => "path" in e && e.at > lastDropAt && e.at < lastDropAt + 5_000);
    expect(after.length, text).toBeGreaterThan(0);
    expect(result.check?.anomalies, text).toEqual([]);
    expect(result.check?.stats.ok, text).toBeGreaterThan(50);
  });

  // On by default since the stall it met is fixed (222df96: a live query's notification no longer
  // queues behind catch-up reads that wait for the index): 10 of 10 runs passed in 37-91 s on a busy
  // 2-core machine (docs/reliability.md, "Fault injection").
  it("kill -9 mid-load and a restart: persisted state survives, the index and resumed listeners catch up", async () => {
    const persistTo = await freshState();
    let server = await startDevServer({ persistTo, vars: VARS });
    cleanups.push(() => server.stop());
    const port = Number(new URL(server.url).port);
    let killedAt = 0;
    let backAt = 0;
    const status = async () => JSON.stringify(await (await fetch(`${server.url}/v1/status`, { headers: await server.adminHeaders() })).json());
    const { result, history } = await runScenario(mixed, {
      url: server.url,
      durationMs: 30_000,
      // The outbox resends what the killed queue lost, backing off while the index makes no progress.
      settleMs: 100_000,
      progressMs: 0,
      log: () => {},
      during: async (run) => {
        await run.sleep(7_000);
        server.kill();
        killedAt = Date.now();
        await run.sleep(300);
        server = await startDevServer({ persistTo, vars: VARS, port });
        backAt = Date.now();
      },
    }).catch(async (e) => {
      throw new Error(`${(e as Error).message}; /v1/status: ${await status()}`);
    });
    const text = `${summary(result)}\nkilled at ${killedAt}, back at ${backAt}`;
    expect(backAt, text).toBeGreaterThan(killedAt);
    // The kill landed mid-load: operations were in flight or refused while it was down ...
    const hit = history.ops.filter((o) => o.invokedAt <= backAt && o.completedAt >= killedAt && o.outcome !== "ok");
    expect(hit.length, text).toBeGreaterThan(0);
    // ... and the load went on after the restart.
    expect(history.ops.filter((o) => o.outcome === "ok" && o.invokedAt > backAt).length, text).toBeGreaterThan(20);
    expect(result.check?.anomalies, text).toEqual([]);
  }, 240_000);
});
