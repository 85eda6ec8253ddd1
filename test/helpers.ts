/** Helpers for workers tests: call the real Worker and read the real D1. */
import { env, exports } from "cloudflare:workers";
import { runDurableObjectAlarm } from "cloudflare:test";
import { shardCount, shardOf } from "../engine/shard/routing";
import { indexDatabases, indexShardOf, metaDatabase, parseTopology } from "../engine/index/routing";
import { createApiKey } from "../engine/auth/key-store";
import type { KeyRole } from "../engine/auth/key-format";
import { parseDocumentPath } from "../engine/core/paths";
import { formatToken, mergeTokens, parseToken } from "../engine/core/tokens";
import type { DocumentData } from "../engine/core/values";

export const BASE = "http://blaze.test";

export async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
  }
  const res = await exports.default.fetch(new Request(`${BASE}${path}`, init));
  return { status: res.status, body: await bodyOf(res), headers: res.headers };
}

/** A response's body: its JSON, its text when that is not JSON, or null when empty. */
export async function bodyOf(res: Response): Promise<any> {
  const text = await res.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

export const shardFor = (path: string) => shardOf(path, shardCount(env));

export function shardStubFor(shard: number) {
  return env.SHARDS.get(env.SHARDS.idFromName(`shard-${shard}`));
}

/** Paths in distinct shards, for cross-shard batch tests. */
export function pathsOnDistinctShards(prefix: string, n: number): string[] {
  const seen = new Map<number, string>();
  for (let i = 0; seen.size < n && i < 10_000; i++) {
    const p = `${prefix}/d${i}`;
    const s = shardFor(p);
    if (!seen.has(s)) seen.set(s, p);
  }
  return [...seen.values()];
}

/** Two paths on the same shard. */
export function pathsOnSameShard(prefix: string, n: number): string[] {
  const byShard = new Map<number, string[]>();
  for (let i = 0; i < 10_000; i++) {
    const p = `${prefix}/d${i}`;
    const list = byShard.get(shardFor(p)) ?? [];
    list.push(p);
    if (list.length === n) return list;
    byShard.set(shardFor(p), list);
  }
  throw new Error("no shard with enough paths");
}

export async function runAlarm(shard: number) {
  return runDurableObjectAlarm(shardStubFor(shard) as any);
}

/** Polls until `check` returns a truthy value or the time runs out. */
export async function eventually<T>(check: () => Promise<T | null | undefined | false>, timeoutMs = 5000, stepMs = 20): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met in ${timeoutMs} ms${last ? `: ${last}` : ""}`);
}

/** The index database (index shard) that holds a document's rows. */
export function indexDbFor(path: string): D1Database {
  const topology = parseTopology(env);
  const p = parseDocumentPath(path);
  return indexDatabases(env as any, topology)[indexShardOf(topology, p.collectionId, p.path)];
}

export async function d1Doc(path: string) {
  return indexDbFor(path).prepare(`SELECT * FROM documents WHERE path = ?`).bind(path).first<any>();
}

/** Writes documents (batches of 500) and returns the write token covering them. */
export async function seed(docs: Record<string, DocumentData>): Promise<string> {
  const writes = Object.entries(docs).map(([path, data]) => ({ op: "set", path, data }));
  const tokens = [];
  for (let i = 0; i < writes.length; i += 500) {
    const r = await api("POST", "/v1/batch", { writes: writes.slice(i, i + 500) });
    if (r.status !== 200) throw new Error(`seed: batch answered ${r.status}: ${JSON.stringify(r.body)}`);
    tokens.push(...r.body.results.map((x: { token: string }) => parseToken(x.token)));
  }
  return formatToken(mergeTokens(...tokens));
}

/**
 * A new API key in the test D1 (the first index shard), made by the engine's
 * own key code: `{ id, key, headers }` with `Authorization: Bearer <key>`.
 */
export async function createKey(role: KeyRole, name = "test") {
  const { id, key } = await createApiKey(metaDatabase(env), role, name);
  return { id, key, headers: { Authorization: `Bearer ${key}` } };
}

let admin: Promise<Record<string, string>> | undefined;
/** Headers with an admin key, for the admin-only routes (/v1/status, /v1/admin/*, /v1/listen?doc=). One key per test file. */
export function adminHeaders(): Promise<Record<string, string>> {
  admin ??= createKey("admin", "test admin").then((k) => k.headers);
  return admin;
}
