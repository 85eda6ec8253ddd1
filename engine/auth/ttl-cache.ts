/**
 * An in-isolate cache whose entries live AUTH_CACHE_TTL_MS: credential
 * checks cost no D1 read per request, and a revoked key (or a first admin
 * key) is seen by every isolate within that time. Bounded, because ids
 * sent by an attacker are cached too (as unknown) and must not grow it
 * without end.
 */

/** How long a verified, unknown or revoked key (and "is there an admin key?") is remembered. */
export const AUTH_CACHE_TTL_MS = 5_000;
/** Entries per cache; a full cache starts over (a burst of unknown ids costs one D1 read each, no memory). */
export const AUTH_CACHE_MAX_ENTRIES = 10_000;

const caches: TtlCache<unknown>[] = [];

export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(private readonly ttlMs = AUTH_CACHE_TTL_MS) {
    caches.push(this as TtlCache<unknown>);
  }

  /** The cached value, or `load`'s (cached for the TTL; a failed load is not cached). */
  async get(key: string, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.until > now) return hit.value;
    const value = await load();
    if (this.entries.size >= AUTH_CACHE_MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { value, until: now + this.ttlMs });
    return value;
  }

  clear(): void {
    this.entries.clear();
  }
}

/** Forgets every cached credential check in this isolate (tests). */
export function clearAuthCaches(): void {
  for (const c of caches) c.clear();
}
