/**
 * A change whose messages all failed and ended in the dead-letter queue is
 * still applied: the outbox row stays until the index has it, and the shard
 * sends it again. The failure is real: the index table the consumer writes
 * is gone for a while (renamed), then comes back. Own file: the rename would
 * disturb other tests sharing this D1.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, d1Doc, eventually, indexDbFor, runAlarm, shardFor } from "./helpers";

describe("dead-lettered changes", () => {
  it("are sent again by the outbox and applied once the index can take them", async () => {
    const path = "dlq/recover";
    const db = indexDbFor(path);
    await db.prepare(`ALTER TABLE index_entries RENAME TO index_entries_away`).run();
    try {
      const w = await api("PUT", `/v1/docs/${path}`, { n: 1, tags: ["a"] });
      expect(w.status).toBe(200);
      // Six failed deliveries, then the dead-letter queue records it.
      await eventually(
        () => env.DB.prepare(`SELECT reason FROM dead_letters WHERE shard = ? AND reason LIKE '%attempt 6%'`).bind(shardFor(path)).first(),
        10_000,
      );
      expect(await d1Doc(path)).toBeNull();
    } finally {
      await db.prepare(`ALTER TABLE index_entries_away RENAME TO index_entries`).run();
    }
    // The outbox still holds the change; after OUTBOX_RESEND_MS (2 s in tests) the shard resends it.
    await new Promise((r) => setTimeout(r, 2100));
    await runAlarm(shardFor(path));
    const row = await eventually(() => d1Doc(path), 10_000);
    expect(JSON.parse(row.data)).toEqual({ n: 1, tags: ["a"] });
    const entries = await db.prepare(`SELECT COUNT(*) AS n FROM index_entries WHERE doc_path = ?`).bind(path).first<{ n: number }>();
    expect(entries!.n).toBe(3);
  });
});
