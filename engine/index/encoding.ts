/**
 * Order-preserving byte encoding of values for the D1 index (the scheme of
 * Firestore's index entries and FoundationDB's tuple layer). SQLite compares
 * BLOBs bytewise, so for any values a, b:
 *
 *   sign(compareBytes(encodeValue(a), encodeValue(b))) === compareValues(a, b)
 *
 * Every encoding is prefix-free (self-delimiting), so a concatenation of
 * encoded fields compares field by field, and a descending field is just its
 * bytes inverted.
 *
 * Layout (first byte = type tag; 0x00 is never a tag, left free as a separator):
 *   0x01            end of an array or map (below every tag: shorter sorts first)
 *   0x10            null
 *   0x20 / 0x21     false / true
 *   0x30 + 8        number (plain or `{ $double }`): IEEE-754 double, big-endian; positive: sign bit set,
 *                   negative: all bits inverted; -0 as 0; NaN as 8 zero bytes (below -Infinity)
 *   0x40 + 8 + 4    timestamp: seconds as int64 with the sign bit flipped, nanos uint32
 *   0x50 str 00 01  string: UTF-8 with 0x00 escaped as 00 FF, terminated by 00 01
 *   0x60 b   00 01  bytes: same escaping
 *   0x70 (seg 00 01)* 00 00   reference: each path segment as an escaped string
 *                   (00 00 sorts below any segment, so a parent sorts first)
 *   0x78 + 8 + 8    geopoint: latitude then longitude, each as a number's 8 bytes
 *   0x80 v* 01      array: element encodings, then end
 *   0x90 (0x50 key 00 01, v)* 01   map: entries in key order (UTF-8), then end
 */
import { parsePath } from "../core/paths";
import {
  bytesOf,
  compareUtf8,
  isBytes,
  isDouble,
  isGeo,
  isRef,
  numberOf,
  isTimestamp,
  timestampToParts,
  utf8Encode,
  type MapValue,
  type Value,
} from "../core/values";

export const TAG = {
  END: 0x01,
  NULL: 0x10,
  FALSE: 0x20,
  TRUE: 0x21,
  NUMBER: 0x30,
  TIMESTAMP: 0x40,
  STRING: 0x50,
  BYTES: 0x60,
  REFERENCE: 0x70,
  GEO: 0x78,
  ARRAY: 0x80,
  MAP: 0x90,
} as const;

export type Direction = "asc" | "desc";

/** The order-preserving encoding of a value; `desc` inverts every byte. */
export function encodeValue(v: Value, direction: Direction = "asc"): Uint8Array {
  const w = new ByteWriter();
  writeValue(w, v);
  const out = w.finish();
  return direction === "desc" ? invertInPlace(out) : out;
}

/** A document's name, ordered segment-wise: identical to encodeValue({ $ref: path }). */
export function encodeDocumentName(path: string): Uint8Array {
  const w = new ByteWriter();
  writeRef(w, parsePath(path));
  return w.finish();
}

/** First tag byte of each type, in type order; a type's encodings lie in [its tag, the next type's tag). */
const TYPE_STARTS = [TAG.NULL, TAG.FALSE, TAG.NUMBER, TAG.TIMESTAMP, TAG.STRING, TAG.BYTES, TAG.REFERENCE, TAG.GEO, TAG.ARRAY, TAG.MAP, 0xa0];

/** The byte range [lo, hi) holding every encoding of the value's type (ascending). */
export function typeRange(v: Value): [Uint8Array, Uint8Array] {
  const first = encodeValue(v)[0];
  let i = TYPE_STARTS.length - 2;
  while (TYPE_STARTS[i] > first) i--;
  return [Uint8Array.of(TYPE_STARTS[i]), Uint8Array.of(TYPE_STARTS[i + 1])];
}

/** Bytewise comparison, as SQLite compares BLOBs: -1, 0 or 1. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A copy with every byte inverted: reverses the order of prefix-free encodings. */
export function invertBytes(b: Uint8Array): Uint8Array {
  return invertInPlace(b.slice());
}

function invertInPlace(b: Uint8Array): Uint8Array {
  for (let i = 0; i < b.length; i++) b[i] = ~b[i] & 0xff;
  return b;
}

function writeValue(w: ByteWriter, v: Value): void {
  if (v === null) return w.byte(TAG.NULL);
  switch (typeof v) {
    case "boolean":
      return w.byte(v ? TAG.TRUE : TAG.FALSE);
    case "number":
      w.byte(TAG.NUMBER);
      return writeDouble(w, v);
    case "string":
      w.byte(TAG.STRING);
      return writeEscaped(w, utf8Encode(v));
  }
  if (Array.isArray(v)) {
    w.byte(TAG.ARRAY);
    for (const e of v) writeValue(w, e);
    return w.byte(TAG.END);
  }
  if (isTimestamp(v)) {
    const { seconds, nanos } = timestampToParts(v.$timestamp);
    w.byte(TAG.TIMESTAMP);
    // int64 as two 32-bit halves: seconds stay far inside ±2^53.
    const hi = Math.floor(seconds / 2 ** 32);
    w.uint32((hi ^ 0x80000000) >>> 0);
    w.uint32(seconds - hi * 2 ** 32);
    return w.uint32(nanos);
  }
  if (isBytes(v)) {
    w.byte(TAG.BYTES);
    return writeEscaped(w, bytesOf(v));
  }
  if (isRef(v)) return writeRef(w, v.$ref.split("/"));
  if (isDouble(v)) {
    w.byte(TAG.NUMBER);
    return writeDouble(w, numberOf(v)!);
  }
  if (isGeo(v)) {
    w.byte(TAG.GEO);
    writeDouble(w, v.$geo.latitude);
    return writeDouble(w, v.$geo.longitude);
  }
  const map = v as MapValue;
  w.byte(TAG.MAP);
  for (const key of Object.keys(map).sort(compareUtf8)) {
    w.byte(TAG.STRING);
    writeEscaped(w, utf8Encode(key));
    writeValue(w, map[key]);
  }
  w.byte(TAG.END);
}

function writeRef(w: ByteWriter, segments: string[]): void {
  w.byte(TAG.REFERENCE);
  for (const s of segments) writeEscaped(w, utf8Encode(s));
  w.byte(0x00);
  w.byte(0x00);
}

const f64 = new DataView(new ArrayBuffer(8));

function writeDouble(w: ByteWriter, n: number): void {
  if (Number.isNaN(n)) {
    for (let i = 0; i < 8; i++) w.byte(0x00);
    return;
  }
  f64.setFloat64(0, n === 0 ? 0 : n); // -0 encodes as 0
  const negative = f64.getUint8(0) & 0x80;
  for (let i = 0; i < 8; i++) {
    const b = f64.getUint8(i);
    w.byte(negative ? ~b & 0xff : i === 0 ? b | 0x80 : b);
  }
}

/** 0x00 becomes 00 FF and the end is 00 01, so a prefix sorts before its extensions. */
function writeEscaped(w: ByteWriter, bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i++) {
    w.byte(bytes[i]);
    if (bytes[i] === 0x00) w.byte(0xff);
  }
  w.byte(0x00);
  w.byte(0x01);
}

/** A growable byte buffer. */
class ByteWriter {
  private buf = new Uint8Array(64);
  private len = 0;

  byte(b: number): void {
    if (this.len === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.len++] = b;
  }

  uint32(n: number): void {
    this.byte((n >>> 24) & 0xff);
    this.byte((n >>> 16) & 0xff);
    this.byte((n >>> 8) & 0xff);
    this.byte(n & 0xff);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
