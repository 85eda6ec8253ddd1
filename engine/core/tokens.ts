/**
 * Write tokens: which shard sequences a write produced. A query may pass one
 * as `after` to wait until the index has applied it (read-your-writes); a
 * listener's resume token has the same shape.
 *
 * Wire form: `"<shard>:<seq>"` pairs joined by `,`, e.g. `"3:17,9:4"`.
 */
import { invalidArgument } from "./errors";

export type WriteToken = Map<number, number>;

export function formatToken(token: WriteToken): string {
  return [...token.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([shard, seq]) => `${shard}:${seq}`)
    .join(",");
}

export function parseToken(s: string): WriteToken {
  const token: WriteToken = new Map();
  if (typeof s !== "string" || s.length === 0 || s.length > 10_000) {
    throw invalidArgument("write token must be a non-empty string");
  }
  for (const part of s.split(",")) {
    const m = /^(\d{1,6}):(\d{1,15})$/.exec(part);
    if (!m) throw invalidArgument(`malformed write token "${s}": expected "<shard>:<seq>[,...]"`);
    const shard = Number(m[1]);
    token.set(shard, Math.max(token.get(shard) ?? 0, Number(m[2])));
  }
  return token;
}

/** Merges tokens, keeping the highest sequence per shard. */
export function mergeTokens(...tokens: WriteToken[]): WriteToken {
  const out: WriteToken = new Map();
  for (const t of tokens) for (const [shard, seq] of t) out.set(shard, Math.max(out.get(shard) ?? 0, seq));
  return out;
}
