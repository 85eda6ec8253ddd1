/**
 * Limits of the public contract (design.md) and of the platform, named once.
 * Checked at the boundary where the data enters: HTTP validation, the shard.
 */
export const LIMITS = {
  /** Max size of a document's data, as UTF-8 JSON. */
  maxDocumentBytes: 1024 * 1024,
  /** Max nesting depth of maps and arrays in a document. */
  maxDepth: 20,
  /** Max bytes in a document id, UTF-8. */
  maxIdBytes: 1500,
  /** Max bytes of a document or collection path, UTF-8 (Firestore: a document name is at most 6 KiB). */
  maxPathBytes: 6 * 1024,
  /** Max segments in a path (Firestore allows 100 nested levels). */
  maxPathSegments: 100,
  /** Max writes in one batch. */
  maxBatchWrites: 500,
  /** Max HTTP request body. A batch may carry several documents. */
  maxRequestBytes: 10 * 1024 * 1024,
  /** Max indexed values of one document (Firestore: 40,000 index entries). */
  maxIndexEntriesPerDocument: 1000,
  /** Max field-path length in bytes. */
  maxFieldPathBytes: 1500,
  /**
   * Max changes one shard holds that the index has not applied (its outbox,
   * and so its change log), give or take one batch's writes: once past it,
   * writes to the shard answer
   * RESOURCE_EXHAUSTED whatever INDEX_LAG_LIMIT says, so a shard whose index
   * is stuck cannot grow its storage without bound.
   */
  maxUnappliedChangesPerShard: 50_000,
  /**
   * The same bound in bytes of document data (the change log holds each
   * unapplied change's data): 50,000 changes of up to 1 MiB would be far
   * over a Durable Object's 10 GB of storage.
   */
  maxUnappliedBytesPerShard: 1024 * 1024 * 1024,
  /** Max length of an `Idempotency-Key` (printable ASCII), as the IETF draft's examples and Stripe allow. */
  maxIdempotencyKeyLength: 255,
  /** A shard remembers the outcome of a keyed write this long (a repeat within it is answered, not applied)... */
  idempotencyWindowMs: 24 * 3_600_000,
  /** ...and at most this many keys (the newest), so a busy shard's table stays bounded (about 25 MB). */
  idempotencyKeysPerShard: 100_000,
} as const;

/** Cloudflare platform limits that shape the pipeline. */
export const PLATFORM = {
  /** A queue message is at most 128 KB; keep headroom for the envelope. */
  maxQueueMessageBytes: 122_880, // 120 KiB (a literal: esbuild keeps an object with arithmetic in the SDK bundle even unused)
  /** A sendBatch call carries at most 100 messages and 256 KB in total. */
  maxSendBatchMessages: 100,
  maxSendBatchBytes: 256_000, // 250 KiB
  /** D1: at most 100 bound parameters per statement (production enforces it). */
  maxD1BoundParameters: 100,
  /** D1: at most 100 KB of SQL text per statement. */
  maxD1StatementBytes: 100_000,
} as const;
