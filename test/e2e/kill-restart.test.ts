/**
 * Acceptance: a dev server killed with SIGKILL under write load loses no
 * acknowledged write, and after a restart the D1 index converges to exactly
 * the documents (local queues live in memory: only the shards' outboxes bring
 * the lost messages back). Runs real `wrangler dev` processes.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { d1Query, migrate, startDevServer } from "../../loadtest/lib/dev-server.mjs";
import { indexEntriesFor } from "../../engine/index/entries";
import type { DocumentData } from "../../engine/core/values";

const PATHS = Array.from({ length: 60 }, (_, i) => `load/d${i}`);
const persistTo = mkdtempSync(join(tmpdir(), "blaze-kill-"));
afterAll(() => rmSync(persistTo, { recursive: true, force: true }));

/** Outbox rows left in the shards' SQLite files (read while the server is down). */
function pendingOutboxRows(): number {
  let total = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".sqlite")) {
        const db = new DatabaseSync(p, { readOnly: true });
        try {
          total += (db.prepare("SELECT COUNT(*) AS n FROM outbox").get() as { n: number }).n;
        } catch {
          // not a shard database
        } finally {
          db.close();
        }
      }
    }
  };
  walk(join(persistTo, "v3", "do"));
  return total;
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("").toUpperCase();

describe("kill -9 under write load", () => {
  it("loses no acknowledged write and the index converges to the documents", async () => {
    await migrate({ persistTo });
    const vars = { OUTBOX_RESEND_MS: "1000" };
    let server = await startDevServer({ persistTo, vars });
    const acked = new Map<string, number>(); // path -> highest acknowledged version
    let stop = false;
    let n = 0;
    let pending = 0;
    const worker = async (w: number) => {
      while (!stop) {
        const path = PATHS[(n++ * 7 + w) % PATHS.length];
        const kind = n % 10;
        const req =
          kind === 9
            ? { method: "DELETE" }
            : { method: "PUT", body: JSON.stringify({ n, w, tags: [`t${n % 3}`, `w${w}`], nested: { k: n % 5 } }) };
        try {
          const res = await fetch(`${server.url}/v1/docs/${path}`, { ...req, headers: { "Content-Type": "application/json" } });
          if (res.ok) {
            const body = (await res.json()) as { version: number };
            acked.set(path, Math.max(acked.get(path) ?? 0, body.version));
          }
        } catch {
          // in flight when the server died: not acknowledged, may or may not have committed
        }
      }
    };
    // Kill under load until the kill strands changes that only the outbox
    // still has (so the recovery path is really exercised).
    for (let attempt = 0; attempt < 4 && pending === 0; attempt++) {
      if (attempt > 0) server = await startDevServer({ persistTo, vars });
      stop = false;
      const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
      await new Promise((r) => setTimeout(r, 2500));
      server.kill();
      stop = true;
      await load;
      await new Promise((r) => setTimeout(r, 300));
      pending = pendingOutboxRows();
    }
    expect(acked.size).toBeGreaterThan(10);
    expect(pending).toBeGreaterThan(0);

    server = await startDevServer({ persistTo, vars });
    try {
      // The source of truth after the restart.
      const truth = new Map<string, { version: number; data: DocumentData } | null>();
      for (const path of PATHS) {
        const res = await fetch(`${server.url}/v1/docs/${path}`);
        truth.set(path, res.status === 404 ? null : ((await res.json()) as any));
      }
      // No acknowledged write was lost: versions only grow.
      for (const [path, version] of acked) {
        const doc = truth.get(path);
        const current = doc?.version ?? -1;
        // A deleted document keeps its version in the shard; a 404 is fine only if a delete was acked last.
        if (doc) expect(current).toBeGreaterThanOrEqual(version);
      }
      // The index converges to exactly the documents (the outbox resends what the killed queue lost).
      const deadline = Date.now() + 60_000;
      let diff = "";
      let firstDiff: string | null = null;
      for (;;) {
        const rows = await d1Query({ persistTo, sql: "SELECT path, version, data FROM documents WHERE collection_id = 'load'" });
        const inD1 = new Map(rows.map((r: any) => [r.path, r]));
        diff = "";
        for (const [path, doc] of truth) {
          const row: any = inD1.get(path);
          if (!doc && row) diff += `${path}: deleted but in D1 v${row.version}\n`;
          if (doc && (!row || row.version !== doc.version || row.data !== JSON.stringify(doc.data))) {
            diff += `${path}: v${doc.version} but D1 has ${row ? `v${row.version}` : "nothing"}\n`;
          }
        }
        firstDiff ??= diff;
        if (!diff) break;
        if (Date.now() > deadline) throw new Error(`index did not converge:\n${diff}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      console.log(`outbox rows stranded by the kill: ${pending}; behind right after restart:\n${firstDiff || "(nothing)"}`);
      const entries = await d1Query({
        persistTo,
        sql: "SELECT doc_path, field, kind, hex(value) AS v FROM index_entries WHERE collection_id = 'load'",
      });
      const want = [...truth].flatMap(([path, doc]) =>
        doc ? indexEntriesFor(doc.data).map((e) => `${path}|${e.field}|${e.kind}|${hex(e.value)}`) : [],
      );
      expect(entries.map((r: any) => `${r.doc_path}|${r.field}|${r.kind}|${r.v}`).sort()).toEqual(want.sort());
    } finally {
      await server.stop();
    }
  });
});
