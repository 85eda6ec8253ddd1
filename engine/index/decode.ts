/**
 * The inverse of encoding.ts: a value back from its ascending index bytes.
 * Group-by keys and min/max come out of SQL as index bytes (GROUP BY and
 * MIN over the entries' BLOBs), so they are decoded here instead of read
 * from document data.
 *
 *   decodeValue(encodeValue(v)) equals v in Firestore's order, canonical:
 *   numbers plain or tagged as numberValue gives them (-0 as 0, which the
 *   encoding does not keep), map keys in UTF-8 order.
 */
import { base64Encode, numberValue, timestampFromParts, type MapValue, type Value } from "../core/values";
import { TAG } from "./encoding";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function decodeValue(bytes: Uint8Array): Value {
  const r = new Reader(bytes);
  const v = r.value();
  if (r.pos !== bytes.length) throw new Error(`index value has ${bytes.length - r.pos} trailing bytes`);
  return v;
}

/** A hex string (SQLite's hex()) back to bytes. */
export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

class Reader {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}

  private byte(): number {
    if (this.pos >= this.b.length) throw new Error("index value ends early");
    return this.b[this.pos++];
  }

  private peek(): number {
    if (this.pos >= this.b.length) throw new Error("index value ends early");
    return this.b[this.pos];
  }

  value(): Value {
    const tag = this.byte();
    switch (tag) {
      case TAG.NULL:
        return null;
      case TAG.FALSE:
        return false;
      case TAG.TRUE:
        return true;
      case TAG.NUMBER: {
        const n = this.double();
        return numberValue(n === 0 ? 0 : n);
      }
      case TAG.TIMESTAMP: {
        const hi = (this.uint32() ^ 0x80000000) | 0;
        const lo = this.uint32();
        return timestampFromParts(hi * 2 ** 32 + lo, this.uint32());
      }
      case TAG.STRING:
        return utf8.decode(this.escaped());
      case TAG.BYTES:
        return { $bytes: base64Encode(this.escaped()) };
      case TAG.REFERENCE: {
        const segments: string[] = [];
        while (!(this.peek() === 0x00 && this.b[this.pos + 1] === 0x00)) segments.push(utf8.decode(this.escaped()));
        this.pos += 2;
        return { $ref: segments.join("/") };
      }
      case TAG.GEO:
        return { $geo: { latitude: this.double(), longitude: this.double() } };
      case TAG.ARRAY: {
        const out: Value[] = [];
        while (this.peek() !== TAG.END) out.push(this.value());
        this.pos++;
        return out;
      }
      case TAG.MAP: {
        const out: MapValue = {};
        while (this.peek() !== TAG.END) {
          if (this.byte() !== TAG.STRING) throw new Error("index map key is not a string");
          const key = utf8.decode(this.escaped());
          out[key] = this.value();
        }
        this.pos++;
        return out;
      }
      default:
        throw new Error(`unknown index value tag 0x${tag.toString(16)}`);
    }
  }

  private uint32(): number {
    return ((this.byte() << 24) | (this.byte() << 16) | (this.byte() << 8) | this.byte()) >>> 0;
  }

  /** 8 bytes as encoding.ts writes a double: NaN as zeros, positive with the sign bit set, negative inverted. */
  private double(): number {
    const raw = new Uint8Array(8);
    for (let i = 0; i < 8; i++) raw[i] = this.byte();
    if (raw.every((x) => x === 0)) return NaN;
    const positive = (raw[0] & 0x80) !== 0;
    for (let i = 0; i < 8; i++) raw[i] = positive ? (i === 0 ? raw[i] & 0x7f : raw[i]) : ~raw[i] & 0xff;
    return new DataView(raw.buffer).getFloat64(0);
  }

  /** An escaped byte string up to its 00 01 end (00 FF is a 00 byte). */
  private escaped(): Uint8Array {
    const out: number[] = [];
    for (;;) {
      const x = this.byte();
      if (x !== 0x00) {
        out.push(x);
        continue;
      }
      const next = this.byte();
      if (next === 0x01) return Uint8Array.from(out);
      if (next !== 0xff) throw new Error("bad escape in index value");
      out.push(0x00);
    }
  }
}
