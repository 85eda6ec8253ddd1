/**
 * Queue messages: a message carries a contiguous run of one shard's changes,
 * so the consumer can record "seqs from..to applied" and the watermark can
 * advance over contiguous runs. Messages stay under the queue's 128 KB limit:
 * a change whose document is too large travels by reference (`byRef`) and the
 * consumer reads the document from its shard.
 */
import { PLATFORM } from "../core/limits";
import type { Change } from "../core/writes";

export interface ChangeMessage {
  v: 1;
  shard: number;
  fromSeq: number;
  toSeq: number;
  changes: Change[];
}

/**
 * Deliveries of one message before the queue moves it to the dead-letter
 * queue: wrangler.toml's consumer `max_retries` (5) plus the first attempt.
 */
export const CONSUMER_MAX_ATTEMPTS = 6;

/** A document bigger than this (as JSON) is sent by reference. */
export const MAX_INLINE_DOC_BYTES = 64 * 1024;
/**
 * Bounds the consumer's work per message. Its statements do not grow with
 * it (a table's rows are one JSON parameter), so messages are large: fewer
 * queue messages and consumer runs per change (measured with `npm run bench
 * -- ingest`: the index caught up 2 s after the load instead of 3.7 s at 50).
 */
export const MAX_CHANGES_PER_MESSAGE = 200;

const encoder = new TextEncoder();
const byteLength = (s: string) => encoder.encode(s).length;

/** Changes must be ordered by seq; a gap in seq starts a new message. */
export function packMessages(
  shard: number,
  changes: Change[],
  limits: { maxBytes: number; maxChanges: number; maxInline: number } = {
    maxBytes: PLATFORM.maxQueueMessageBytes,
    maxChanges: MAX_CHANGES_PER_MESSAGE,
    maxInline: MAX_INLINE_DOC_BYTES,
  },
): { message: ChangeMessage; bytes: number }[] {
  const out: { message: ChangeMessage; bytes: number }[] = [];
  let current: ChangeMessage | null = null;
  let bytes = 0;
  const envelope = 100;
  for (const change of changes) {
    let c = change;
    let size = byteLength(JSON.stringify(c));
    if (size > limits.maxInline) {
      const { data: _omit, ...rest } = c;
      c = { ...rest, byRef: true };
      // Charged at least at the inline limit: the consumer fetches the whole
      // document, so this bounds what one message makes it read. Its own
      // bytes (the path, up to 6 KiB) count when they are more.
      size = Math.max(limits.maxInline, byteLength(JSON.stringify(c)));
    }
    const contiguous = current !== null && c.seq === current.toSeq + 1;
    if (!current || !contiguous || current.changes.length >= limits.maxChanges || bytes + size + 1 > limits.maxBytes - envelope) {
      if (current) out.push({ message: current, bytes: bytes + envelope });
      current = { v: 1, shard, fromSeq: c.seq, toSeq: c.seq, changes: [] };
      bytes = 0;
    }
    current.changes.push(c);
    current.toSeq = c.seq;
    bytes += size + 1;
  }
  if (current) out.push({ message: current, bytes: bytes + envelope });
  return out;
}

/** Groups messages into sendBatch calls within the platform's count and size limits. */
export function groupForSendBatch<T extends { bytes: number }>(
  messages: T[],
  limits: { maxMessages: number; maxBytes: number } = { maxMessages: PLATFORM.maxSendBatchMessages, maxBytes: PLATFORM.maxSendBatchBytes },
): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let bytes = 0;
  for (const m of messages) {
    if (group.length > 0 && (group.length >= limits.maxMessages || bytes + m.bytes > limits.maxBytes)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(m);
    bytes += m.bytes;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** Validates a message body from the queue (it is untrusted input). */
export function isChangeMessage(body: unknown): body is ChangeMessage {
  if (typeof body !== "object" || body === null) return false;
  const m = body as ChangeMessage;
  return (
    m.v === 1 &&
    Number.isInteger(m.shard) &&
    Number.isInteger(m.fromSeq) &&
    Number.isInteger(m.toSeq) &&
    m.fromSeq <= m.toSeq &&
    Array.isArray(m.changes) &&
    m.changes.every(
      (c) =>
        typeof c === "object" && c !== null && typeof c.path === "string" && Number.isInteger(c.seq) &&
        c.seq >= m.fromSeq && c.seq <= m.toSeq && (c.op === "set" || c.op === "delete") &&
        (c.op === "delete" || c.byRef === true || (typeof c.data === "object" && c.data !== null)),
    )
  );
}

/**
 * Asks the consumer to run a bounded step of the composite index backfill
 * (engine/index/backfill.ts) on every index database. The consumer sends it
 * again until every build is done, so the work spreads over many invocations.
 */
export interface BackfillMessage {
  v: 1;
  kind: "backfill";
}

export const BACKFILL_MESSAGE: BackfillMessage = { v: 1, kind: "backfill" };

export function isBackfillMessage(body: unknown): body is BackfillMessage {
  return typeof body === "object" && body !== null && (body as BackfillMessage).v === 1 && (body as BackfillMessage).kind === "backfill";
}
