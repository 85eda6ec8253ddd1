/**
 * Which D1 database (index shard) holds a document's index rows.
 * A collection id maps to one index shard by hash, so a collection group stays
 * together; a collection configured as split spreads its documents over every
 * index shard by document-path hash, and its queries scatter and merge.
 * The first index shard also holds the pipeline's bookkeeping (watermarks).
 */
import { fnv1a32 } from "../core/hash";

export interface IndexTopology {
  /** D1 binding names, in order; [0] is the meta shard. */
  bindings: string[];
  /** Collection ids spread across every index shard. */
  split: Set<string>;
}

export function parseTopology(env: { INDEX_SHARDS?: string; INDEX_SPLIT_COLLECTIONS?: string }): IndexTopology {
  const bindings = (env.INDEX_SHARDS ?? "DB").split(",").map((s) => s.trim()).filter(Boolean);
  if (bindings.length === 0) throw new Error("INDEX_SHARDS names no D1 binding");
  const split = new Set((env.INDEX_SPLIT_COLLECTIONS ?? "").split(",").map((s) => s.trim()).filter(Boolean));
  return { bindings, split };
}

export function indexShardOf(topology: IndexTopology, collectionId: string, docPath: string): number {
  const n = topology.bindings.length;
  if (n === 1) return 0;
  return topology.split.has(collectionId) ? fnv1a32(docPath) % n : fnv1a32(collectionId) % n;
}

/** The index shards a query on this collection id must read. */
export function indexShardsFor(topology: IndexTopology, collectionId: string): number[] {
  const n = topology.bindings.length;
  if (topology.split.has(collectionId)) return [...Array(n).keys()];
  return [indexShardOf(topology, collectionId, "")];
}

export function indexDatabases(env: Record<string, unknown>, topology: IndexTopology): D1Database[] {
  return topology.bindings.map((name) => {
    const db = env[name] as D1Database | undefined;
    if (!db) throw new Error(`INDEX_SHARDS names ${name}, but there is no D1 binding of that name`);
    return db;
  });
}

/** The first index shard: it also holds watermarks, builds and dead letters. */
export function metaDatabase(env: { INDEX_SHARDS?: string }): D1Database {
  return indexDatabases(env as Record<string, unknown>, parseTopology(env))[0];
}
