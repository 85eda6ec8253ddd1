/**
 * Rows sent to D1 as JSON text parameters (expanded with json_each in SQL),
 * cut in chunks that fit D1's limit on one value: see apply.ts.
 */

/** D1's limit on one string or BLOB value (a bound parameter included). */
export const D1_MAX_VALUE_BYTES = 2_000_000;
/**
 * JSON per statement. Half of D1's value limit: a document (at most 1 MiB of
 * data) always fits one chunk, and chunks of this size already make the
 * statement's fixed cost negligible.
 */
export const APPLY_JSON_CHUNK_BYTES = 1_000_000;

/** A row too large for one D1 value even alone (a document over the write limits). */
export class ApplyRowTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(`an index row is ${bytes} bytes as JSON; D1 allows ${D1_MAX_VALUE_BYTES} per value`);
    this.name = "ApplyRowTooLargeError";
  }
}

/**
 * Rows as JSON array texts of at most `maxBytes` (UTF-8) each; a statement
 * per text. Rows are serialized once, here.
 */
export function jsonChunks(rows: unknown[], maxBytes = APPLY_JSON_CHUNK_BYTES): string[] {
  const out: string[] = [];
  let parts: string[] = [];
  let bytes = 2;
  for (const row of rows) {
    const text = JSON.stringify(row);
    const size = utf8Length(text) + 1;
    if (size + 1 > D1_MAX_VALUE_BYTES) throw new ApplyRowTooLargeError(size);
    if (parts.length > 0 && bytes + size > maxBytes) {
      out.push(`[${parts.join(",")}]`);
      parts = [];
      bytes = 2;
    }
    parts.push(text);
    bytes += size;
  }
  if (parts.length > 0) out.push(`[${parts.join(",")}]`);
  return out;
}

function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Two bytes up to U+07FF, three above; a surrogate pair is 4 bytes for 2 units.
    if (c >= 0x80) n += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
}

