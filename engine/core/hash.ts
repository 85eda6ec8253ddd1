/**
 * FNV-1a (32-bit) over UTF-8. Stable across runtimes and releases: shard and
 * index-shard routing depend on it, so changing it moves every document.
 */
const encoder = new TextEncoder();

export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const byte of encoder.encode(s)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
