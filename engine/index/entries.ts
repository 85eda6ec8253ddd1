/**
 * The single-field index entries of a document, as Firestore builds them
 * automatically: every field at every depth gets a "value" entry (a map also
 * as a whole), and every array gets one "element" entry per distinct element
 * so array-contains is a range scan. Arrays are not descended into for field
 * paths: `a.0.b` is not a field.
 */
import { invalidArgument } from "../core/errors";
import { formatFieldPath } from "../core/field-path";
import { LIMITS } from "../core/limits";
import { isMap, type DocumentData, type MapValue } from "../core/values";
import { encodeValue } from "./encoding";

export interface IndexEntry {
  /** The field path, canonical (formatFieldPath). */
  field: string;
  kind: "value" | "element";
  /** encodeValue of the field's value, or of one array element; ascending. */
  value: Uint8Array;
}

export interface IndexEntryOptions {
  /** Fields (canonical paths) left out of the index; their subfields too. */
  exempt?: (fieldPath: string) => boolean;
  /**
   * Refuse a document with more entries (default: the write limit). The
   * consumer passes Infinity: a document the shard accepted must be indexed
   * even if a later config (a removed exemption) makes it exceed the limit.
   */
  maxEntries?: number;
  /** Entries the document has in composite indexes, counted against the same limit. */
  compositeEntries?: number;
}

export function indexEntriesFor(data: DocumentData, opts: IndexEntryOptions = {}): IndexEntry[] {
  const entries: IndexEntry[] = [];
  const walk = (map: MapValue, path: string[]) => {
    for (const key of Object.keys(map)) {
      const v = map[key];
      const segs = [...path, key];
      const field = formatFieldPath(segs);
      if (opts.exempt?.(field)) continue;
      entries.push({ field, kind: "value", value: encodeValue(v) });
      if (Array.isArray(v)) {
        // Equal encodings are equal values, so the bytes dedupe the elements.
        const seen = new Set<string>();
        for (const e of v) {
          const value = encodeValue(e);
          const key = bytesKey(value);
          if (seen.has(key)) continue;
          seen.add(key);
          entries.push({ field, kind: "element", value });
        }
      } else if (isMap(v)) walk(v as MapValue, segs);
    }
  };
  walk(data, []);
  const limit = opts.maxEntries ?? LIMITS.maxIndexEntriesPerDocument;
  const composite = opts.compositeEntries ?? 0;
  const count = entries.length + composite;
  if (count > limit) {
    throw invalidArgument(
      `document needs ${count} index entries${composite ? ` (${composite} of them in composite indexes)` : ""}, more than the limit of ${limit}` +
        " (every field, every distinct array element and every composite index row counts; exempt large fields from indexing)",
      { count, composite, limit },
    );
  }
  return entries;
}

/** A string with one char per byte: a cheap Set key for a byte string. */
export function bytesKey(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}
