/**
 * The index verifier as tests drive it (test/verify*.test.ts): every page of
 * every shard through POST /v1/admin/verify, as the CLI walks them, and
 * writes whose changes the tests wait for the index to apply.
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { readWatermark } from "../../engine/pipeline/watermarks";
import { shardCount } from "../../engine/shard/routing";
import { adminHeaders, api, eventually, shardFor } from "../helpers";

export interface Totals {
  differences: Record<string, number>;
  documents: number;
  checked: number;
  repaired: number;
  examples: { kind: string; path: string; detail: string }[];
}

/** Every page of every shard, summed. */
export async function verifyAll(opts: { collection?: string; repair?: boolean; limit?: number } = {}): Promise<Totals> {
  const totals: Totals = { differences: {}, documents: 0, checked: 0, repaired: 0, examples: [] };
  for (let shard = 0; shard < shardCount(env); shard++) {
    let after: string | null = "";
    while (after !== null) {
      const r = await api("POST", "/v1/admin/verify", { shard, after, ...opts }, await adminHeaders());
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.repairError).toBeUndefined();
      for (const [k, n] of Object.entries(r.body.differences as Record<string, number>)) totals.differences[k] = (totals.differences[k] ?? 0) + n;
      totals.documents += r.body.documents;
      totals.checked += r.body.checked;
      totals.repaired += r.body.repaired;
      totals.examples.push(...r.body.examples);
      after = r.body.next;
    }
  }
  return totals;
}

/** PUT of a document; its seq. */
export async function write(path: string, data: unknown): Promise<number> {
  const r = await api("PUT", `/v1/docs/${path}`, data);
  expect(r.status).toBe(200);
  return Number(r.body.token.split(":")[1]);
}

/** DELETE of a document; its seq. */
export async function remove(path: string): Promise<number> {
  const r = await api("DELETE", `/v1/docs/${path}`);
  expect(r.status).toBe(200);
  return Number(r.body.token.split(":")[1]);
}

/** Resolves once the index applied the document's shard up to `seq`. */
export const indexed = (path: string, seq: number) => eventually(async () => (await readWatermark(env.DB, shardFor(path))) >= seq, 10_000);
