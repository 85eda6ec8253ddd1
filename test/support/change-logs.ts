/** Random operations turned into shards' change logs (seqs, versions), as shards would emit them. */
import type { DocumentData } from "../../engine/core/values";
import type { Change } from "../../engine/core/writes";

export interface ChangeOp {
  path: string;
  del: boolean;
  data: DocumentData;
  /** Which of `shards` first writes the path (it keeps it); default 0. */
  shardIdx?: number;
}

/** Per-shard change logs; a delete of a document that does not exist is left out. */
export function changeLogs(ops: ChangeOp[], shards: number[]): Map<number, Change[]> {
  const logs = new Map<number, Change[]>();
  const state = new Map<string, { version: number; live: boolean; shard: number }>();
  for (const op of ops) {
    // A path always belongs to one shard: take the first shard that wrote it.
    const shard = state.get(op.path)?.shard ?? shards[op.shardIdx ?? 0];
    const log = logs.get(shard) ?? [];
    const prev = state.get(op.path);
    const seq = log.length + 1;
    const version = (prev?.version ?? 0) + 1;
    const t = new Date(1_700_000_000_000 + seq * 1000).toISOString();
    if (op.del) {
      if (!prev?.live) continue;
      log.push({ shard, seq, path: op.path, op: "delete", version, updateTime: t, existed: true });
      state.set(op.path, { version, live: false, shard });
    } else {
      log.push({ shard, seq, path: op.path, op: "set", version, data: op.data, createTime: t, updateTime: t, existed: !!prev?.live });
      state.set(op.path, { version, live: true, shard });
    }
    logs.set(shard, log);
  }
  return logs;
}

/** Every item at least once, about a third of them twice, in a random order drawn from `rand` (a queue's at-least-once, any-order delivery). */
export function shuffledDeliveries<T>(items: T[], rand: Iterator<number>): T[] {
  const out = [...items, ...items.filter(() => rand.next().value % 3 === 0)];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rand.next().value % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
