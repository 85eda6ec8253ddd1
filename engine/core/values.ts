/**
 * The value model: what a document may hold, Firestore's total order over it,
 * and validation of untrusted document data. Pure; shared with the SDK.
 *
 * Tagged values are one-key JSON objects: `{ $timestamp }`, `{ $bytes }`,
 * `{ $ref }`, `{ $geo }` and `{ $double }` (the numbers JSON cannot carry:
 * NaN, Infinity, -Infinity and -0). Any other key starting with "$" is
 * reserved, so a user map can never be mistaken for a tagged value or a
 * transform. Validated data holds every non-finite number (and -0) in its
 * tagged form, so a value survives every JSON boundary unchanged.
 */
import { BlazeError, invalidArgument } from "./errors";
import { LIMITS } from "./limits";
import { parsePath } from "./paths";
import { LONE_SURROGATE, utf8Length } from "./utf8";

export { utf8Length };

export type Value =
  | null
  | boolean
  | number
  | string
  | Value[]
  | MapValue
  | TimestampValue
  | BytesValue
  | RefValue
  | GeoValue
  | DoubleValue;
export type MapValue = { [key: string]: Value };
export type DocumentData = MapValue;
/** ISO-8601 instant; validated data holds it in canonical form (see canonicalTimestamp). */
export type TimestampValue = { $timestamp: string };
/** Standard base64 (RFC 4648, padded in canonical form). */
export type BytesValue = { $bytes: string };
/** A document path such as `users/alice`. */
export type RefValue = { $ref: string };
/** A geographical point (Firestore's GeoPoint): latitude in [-90, 90], longitude in [-180, 180]. */
export type GeoValue = { $geo: { latitude: number; longitude: number } };
/** A number JSON cannot carry. It is a number in every respect: order, equality, filters, aggregates. */
export type DoubleValue = { $double: DoubleTag };
export type DoubleTag = "NaN" | "Infinity" | "-Infinity" | "-0";

/** Field transforms allowed inside write data (see transforms.ts). */
export type TransformValue =
  | { $increment: number | DoubleValue }
  | { $serverTimestamp: true }
  | { $arrayUnion: Value[] }
  | { $arrayRemove: Value[] }
  | { $delete: true };

export type TypeName =
  | "null"
  | "boolean"
  | "number"
  | "timestamp"
  | "string"
  | "bytes"
  | "reference"
  | "geopoint"
  | "array"
  | "map";

/** Firestore's cross-type order. */
export const TYPE_RANK = {
  null: 0,
  boolean: 1,
  number: 2,
  timestamp: 3,
  string: 4,
  bytes: 5,
  reference: 6,
  geopoint: 7,
  array: 8,
  map: 9,
} as const satisfies Record<TypeName, number>;

// ---------------------------------------------------------------- guards

/** The key of an object with exactly one own key, else undefined. */
function soleKey(o: object): string | undefined {
  let key: string | undefined;
  for (const k in o) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
    if (key !== undefined) return undefined;
    key = k;
  }
  return key;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isTagged(v: unknown, tag: string): boolean {
  return isObject(v) && soleKey(v) === tag && typeof v[tag] === "string";
}

export const isTimestamp = (v: unknown): v is TimestampValue => isTagged(v, "$timestamp");
export const isBytes = (v: unknown): v is BytesValue => isTagged(v, "$bytes");
export const isRef = (v: unknown): v is RefValue => isTagged(v, "$ref");
const DOUBLE_TAGS: ReadonlySet<string> = new Set<DoubleTag>(["NaN", "Infinity", "-Infinity", "-0"]);
export const isDouble = (v: unknown): v is DoubleValue => isTagged(v, "$double") && DOUBLE_TAGS.has((v as DoubleValue).$double);
export const isGeo = (v: unknown): v is GeoValue => {
  if (!isObject(v) || soleKey(v) !== "$geo" || !isObject(v.$geo)) return false;
  const g = v.$geo;
  return typeof g.latitude === "number" && typeof g.longitude === "number";
};
/** A map value: an object that is not a tagged value. */
export const isMap = (v: unknown): v is MapValue =>
  isObject(v) && !isTimestamp(v) && !isBytes(v) && !isRef(v) && !isGeo(v) && !isDouble(v);

/** A number value (plain or tagged) as a JS number; undefined for other types. */
export function numberOf(v: Value | undefined): number | undefined {
  if (typeof v === "number") return v;
  if (isDouble(v)) return v.$double === "-0" ? -0 : Number(v.$double);
  return undefined;
}

/** The canonical value of a JS number: NaN, ±Infinity and -0 tagged, so JSON keeps them. */
export function numberValue(n: number): number | DoubleValue {
  if (Number.isNaN(n)) return { $double: "NaN" };
  if (n === Infinity) return { $double: "Infinity" };
  if (n === -Infinity) return { $double: "-Infinity" };
  if (Object.is(n, -0)) return { $double: "-0" };
  return n;
}

/** True for NaN in either form (range filters never match it). */
export const isNaNValue = (v: Value | undefined): boolean => {
  const n = numberOf(v);
  return n !== undefined && Number.isNaN(n);
};

const TRANSFORM_KEYS = new Set(["$increment", "$serverTimestamp", "$arrayUnion", "$arrayRemove", "$delete"]);

/** A field transform object (shape only; validateDocumentData checks operands). */
export function isTransform(v: unknown): v is TransformValue {
  if (!isObject(v)) return false;
  const k = soleKey(v);
  return k !== undefined && TRANSFORM_KEYS.has(k);
}

export function typeName(v: Value): TypeName {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return "boolean";
    case "number":
      return "number";
    case "string":
      return "string";
  }
  if (Array.isArray(v)) return "array";
  if (isTimestamp(v)) return "timestamp";
  if (isBytes(v)) return "bytes";
  if (isRef(v)) return "reference";
  if (isDouble(v)) return "number";
  if (isGeo(v)) return "geopoint";
  return "map";
}

export const typeRank = (v: Value): number => TYPE_RANK[typeName(v)];

// ---------------------------------------------------------------- strings

/**
 * Compares strings by Unicode code point, which is UTF-8 byte order.
 * JS `<` compares UTF-16 code units, which puts astral characters (surrogate
 * pairs, 0xD800..) before BMP characters in 0xE000..0xFFFF; Firestore does not.
 * A lone surrogate counts as its own code point (as WTF-8 would encode it).
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    // Differing low surrogates: the code point starts one unit earlier.
    const k = i > 0 && (a.charCodeAt(i - 1) & 0xfc00) === 0xd800 ? i - 1 : i;
    return a.codePointAt(k)! - b.codePointAt(k)!;
  }
  return a.length - b.length;
}

/** UTF-8 bytes of a string; a lone surrogate becomes its 3-byte form (WTF-8), keeping code point order. */
export function utf8Encode(s: string): Uint8Array {
  const out = new Uint8Array(utf8Length(s));
  let j = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[j++] = c;
      continue;
    }
    if (c < 0x800) {
      out[j++] = 0xc0 | (c >> 6);
      out[j++] = 0x80 | (c & 0x3f);
      continue;
    }
    if ((c & 0xfc00) === 0xd800 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      out[j++] = 0xf0 | (c >> 18);
      out[j++] = 0x80 | ((c >> 12) & 0x3f);
      out[j++] = 0x80 | ((c >> 6) & 0x3f);
      out[j++] = 0x80 | (c & 0x3f);
      continue;
    }
    out[j++] = 0xe0 | (c >> 12);
    out[j++] = 0x80 | ((c >> 6) & 0x3f);
    out[j++] = 0x80 | (c & 0x3f);
  }
  return out;
}


// ---------------------------------------------------------------- bytes (base64)

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;
const BASE64_SHAPE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes standard base64 (padding optional); undefined if malformed. */
export function base64Decode(s: string): Uint8Array | undefined {
  if (!BASE64_SHAPE.test(s)) return undefined;
  const body = s.replace(/=+$/, "");
  if (body.length % 4 === 1) return undefined;
  if (s.length !== body.length && s.length % 4 !== 0) return undefined; // padding must complete a quad
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let j = 0;
  for (let i = 0; i < body.length; i++) {
    acc = (acc << 6) | B64_INDEX[body.charCodeAt(i)];
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** Canonical base64: standard alphabet, padded. */
export function base64Encode(bytes: Uint8Array): string {
  let s = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    s += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    s += B64[n >> 18] + B64[(n >> 12) & 63] + "==";
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    s += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + "=";
  }
  return s;
}

/** The bytes of a `{ $bytes }` value. */
export function bytesOf(v: BytesValue): Uint8Array {
  const b = base64Decode(v.$bytes);
  if (!b) throw invalidArgument(`invalid base64 in $bytes: ${JSON.stringify(v.$bytes.slice(0, 40))}`);
  return b;
}

export function compareByteArrays(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

// ---------------------------------------------------------------- timestamps

/** Firestore's range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z. */
export const MIN_SECONDS = -62135596800;
export const MAX_SECONDS = 253402300799;
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
/** Canonical: nine fractional digits, the last three 0 (microsecond precision, as Firestore keeps). */
const CANONICAL_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}000Z$/;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm; exact for all years). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

const daysInMonth = (y: number, m: number) => daysFromCivil(m === 12 ? y + 1 : y, m === 12 ? 1 : m + 1, 1) - daysFromCivil(y, m, 1);

/** Seconds since the epoch and nanoseconds (0..999999999) of an ISO-8601 instant; undefined if invalid. */
function parseIso(iso: string): { seconds: number; nanos: number } | undefined {
  const m = ISO.exec(iso);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offset = 0;
  if (m[8]) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 23 || om > 59) return undefined;
    offset = (m[8] === "-" ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  const nanos = m[7] ? Number(m[7].padEnd(9, "0")) : 0;
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) return undefined;
  return { seconds, nanos };
}

/** Seconds since the epoch and nanoseconds of an ISO-8601 timestamp (up to 9 fractional digits, Z or ±HH:MM). */
export function timestampToParts(iso: string): { seconds: number; nanos: number } {
  const parts = parseIso(iso);
  if (!parts) throw invalidArgument(`invalid timestamp ${JSON.stringify(iso)}: expected ISO-8601 between years 0001 and 9999`);
  return parts;
}

/**
 * The canonical form is `YYYY-MM-DDTHH:MM:SS.ffffff000Z`: UTC, always nine
 * fractional digits. Fixed width, so for canonical strings string order is
 * instant order (handy in SQL over the JSON). Timestamps keep microseconds,
 * as Firestore's do: nanoseconds are truncated (toward the past), so the last
 * three digits are always 0.
 */
export function timestampFromParts(seconds: number, nanos: number): TimestampValue {
  if (!Number.isInteger(seconds) || seconds < MIN_SECONDS || seconds > MAX_SECONDS) {
    throw invalidArgument(`timestamp seconds ${seconds} out of range (years 0001..9999)`);
  }
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) {
    throw invalidArgument(`timestamp nanos ${nanos} out of range 0..999999999`);
  }
  nanos -= nanos % 1000;
  const days = Math.floor(seconds / 86400);
  const sod = seconds - days * 86400;
  const [y, mo, d] = civilFromDays(days);
  const p2 = (n: number) => String(n).padStart(2, "0");
  const time = `${p2(Math.floor(sod / 3600))}:${p2(Math.floor(sod / 60) % 60)}:${p2(sod % 60)}`;
  return { $timestamp: `${String(y).padStart(4, "0")}-${p2(mo)}-${p2(d)}T${time}.${String(nanos).padStart(9, "0")}Z` };
}

/** Normalizes an ISO-8601 timestamp to the canonical form (same instant). */
export function canonicalTimestamp(iso: string): string {
  if (CANONICAL_ISO.test(iso) && parseIso(iso)) return iso;
  const { seconds, nanos } = timestampToParts(iso);
  return timestampFromParts(seconds, nanos).$timestamp;
}

export function timestampFromDate(d: Date): TimestampValue {
  const ms = d.getTime();
  if (!Number.isFinite(ms)) throw invalidArgument("invalid Date for a timestamp");
  const seconds = Math.floor(ms / 1000);
  return timestampFromParts(seconds, (ms - seconds * 1000) * 1_000_000);
}

function compareTimestamps(a: string, b: string): number {
  // Canonical strings are fixed width, so they compare as strings.
  if (CANONICAL_ISO.test(a) && CANONICAL_ISO.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  const pa = timestampToParts(a);
  const pb = timestampToParts(b);
  return pa.seconds !== pb.seconds ? pa.seconds - pb.seconds : pa.nanos - pb.nanos;
}

// ---------------------------------------------------------------- order

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

function compareNumbers(a: number, b: number): number {
  // NaN sorts before every number and equals itself (as in Firestore).
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
  if (Number.isNaN(b)) return 1;
  return a < b ? -1 : a > b ? 1 : 0; // -0 === 0
}

function compareRefs(a: string, b: string): number {
  const sa = a.split("/");
  const sb = b.split("/");
  const n = Math.min(sa.length, sb.length);
  for (let i = 0; i < n; i++) {
    const c = compareUtf8(sa[i], sb[i]);
    if (c !== 0) return sign(c);
  }
  return sign(sa.length - sb.length);
}

function compareMaps(a: MapValue, b: MapValue): number {
  const ka = Object.keys(a).sort(compareUtf8);
  const kb = Object.keys(b).sort(compareUtf8);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const ck = compareUtf8(ka[i], kb[i]);
    if (ck !== 0) return sign(ck);
    const cv = compareValues(a[ka[i]], b[kb[i]]);
    if (cv !== 0) return cv;
  }
  return sign(ka.length - kb.length);
}

/** Firestore's total order over values; returns -1, 0 or 1. */
export function compareValues(a: Value, b: Value): number {
  const ta = typeName(a);
  const tb = typeName(b);
  if (ta !== tb) return sign(TYPE_RANK[ta] - TYPE_RANK[tb]);
  switch (ta) {
    case "null":
      return 0;
    case "boolean":
      return sign(Number(a) - Number(b));
    case "number":
      return compareNumbers(numberOf(a)!, numberOf(b)!);
    case "timestamp":
      return sign(compareTimestamps((a as TimestampValue).$timestamp, (b as TimestampValue).$timestamp));
    case "string":
      return sign(compareUtf8(a as string, b as string));
    case "bytes":
      return sign(compareByteArrays(bytesOf(a as BytesValue), bytesOf(b as BytesValue)));
    case "reference":
      return compareRefs((a as RefValue).$ref, (b as RefValue).$ref);
    case "geopoint": {
      const ga = (a as GeoValue).$geo;
      const gb = (b as GeoValue).$geo;
      return compareNumbers(ga.latitude, gb.latitude) || compareNumbers(ga.longitude, gb.longitude);
    }
    case "array": {
      const xa = a as Value[];
      const xb = b as Value[];
      const n = Math.min(xa.length, xb.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(xa[i], xb[i]);
        if (c !== 0) return c;
      }
      return sign(xa.length - xb.length);
    }
    case "map":
      return compareMaps(a as MapValue, b as MapValue);
  }
}

export const valuesEqual = (a: Value, b: Value): boolean => compareValues(a, b) === 0;

// ---------------------------------------------------------------- validation

export interface ValidateOptions {
  /** Accept field transforms ($increment, $serverTimestamp, $arrayUnion, $arrayRemove). */
  allowTransforms?: boolean;
  /** Also accept `{ $delete: true }` (update, set with merge); needs allowTransforms. */
  allowDelete?: boolean;
}

type Loc = (string | number)[];

/** A location for messages: `a.b[2].c`, odd names quoted with backticks. */
function describe(loc: Loc): string {
  if (loc.length === 0) return "document";
  let s = "";
  for (const seg of loc) {
    if (typeof seg === "number") s += `[${seg}]`;
    else {
      const name = /^[A-Za-z_][A-Za-z_0-9]*$/.test(seg) ? seg : "`" + seg.replace(/[\\`]/g, "\\$&") + "`";
      s += s === "" ? name : "." + name;
    }
  }
  return s.length > 200 ? s.slice(0, 200) + "…" : s;
}

const RESERVED_FIELD = /^__.*__$/s;

function checkFieldName(name: string, loc: Loc): void {
  const at = describe([...loc, name]);
  if (name === "") throw invalidArgument(`empty field name at ${describe(loc)}`);
  if (utf8Length(name) > LIMITS.maxFieldPathBytes) {
    throw invalidArgument(`field name at ${at} is longer than ${LIMITS.maxFieldPathBytes} bytes`);
  }
  if (RESERVED_FIELD.test(name)) throw invalidArgument(`field name ${at} is reserved (names matching __.*__ are reserved)`);
  if (LONE_SURROGATE.test(name)) throw invalidArgument(`field name ${at} is not valid UTF-8 (lone surrogate)`);
}

interface Walk extends ValidateOptions {
  inArray: boolean;
}

function checkMap(obj: Record<string, unknown>, loc: Loc, depth: number, w: Walk): MapValue {
  const out: MapValue = {};
  for (const key of Object.keys(obj)) {
    checkFieldName(key, loc);
    if (key.startsWith("$")) {
      throw invalidArgument(`field name ${describe([...loc, key])} is reserved (names starting with "$" are reserved)`);
    }
    out[key] = checkValue(obj[key], [...loc, key], depth + 1, w);
  }
  return out;
}

function checkValue(v: unknown, loc: Loc, depth: number, w: Walk): Value {
  const at = describe(loc);
  if (depth > LIMITS.maxDepth) {
    throw invalidArgument(`value at ${at} is nested deeper than the limit of ${LIMITS.maxDepth}`);
  }
  if (v === null || typeof v === "boolean") return v;
  // NaN, ±Infinity and -0 (from JS callers, or -0 in JSON) take their tagged form.
  if (typeof v === "number") return numberValue(v);
  if (typeof v === "string") {
    if (LONE_SURROGATE.test(v)) throw invalidArgument(`string at ${at} is not valid UTF-8 (lone surrogate)`);
    return v;
  }
  if (Array.isArray(v)) {
    const inner = { ...w, inArray: true };
    return v.map((x, i) => checkValue(x, [...loc, i], depth + 1, inner));
  }
  if (typeof v !== "object" || !isPlainObject(v)) {
    throw invalidArgument(`value at ${at} is not a JSON value (${describeType(v)})`);
  }
  const key = soleKey(v);
  if (key !== undefined && key.startsWith("$")) return checkSpecial(v, key, loc, depth, w);
  // inArray stays set below an array: no transforms anywhere inside one.
  return checkMap(v, loc, depth, w);
}

/** A one-key `$` object: a tagged value or a transform. */
function checkSpecial(v: Record<string, unknown>, key: string, loc: Loc, depth: number, w: Walk): Value {
  const at = describe(loc);
  const x = v[key];
  switch (key) {
    case "$timestamp": {
      if (typeof x !== "string" || !parseIso(x)) {
        throw invalidArgument(
          `invalid $timestamp at ${at}: expected an ISO-8601 string between years 0001 and 9999, got ${JSON.stringify(x)}`,
        );
      }
      return { $timestamp: canonicalTimestamp(x) };
    }
    case "$bytes": {
      const bytes = typeof x === "string" ? base64Decode(x) : undefined;
      if (!bytes) throw invalidArgument(`invalid $bytes at ${at}: expected a base64 string`);
      return { $bytes: base64Encode(bytes) };
    }
    case "$ref": {
      try {
        if (parsePath(x).length % 2 !== 0) throw invalidArgument(`${JSON.stringify(x)} is a collection path`);
      } catch (e) {
        throw invalidArgument(`invalid $ref at ${at}: ${(e as Error).message}; expected a document path`);
      }
      return { $ref: x as string };
    }
    case "$double": {
      if (typeof x !== "string" || !DOUBLE_TAGS.has(x)) {
        throw invalidArgument(`invalid $double at ${at}: expected "NaN", "Infinity", "-Infinity" or "-0", got ${JSON.stringify(x)}`);
      }
      return { $double: x as DoubleTag };
    }
    case "$geo":
      return checkGeo(x, at);
  }
  if (!TRANSFORM_KEYS.has(key)) {
    throw invalidArgument(`field name ${describe([...loc, key])} is reserved (names starting with "$" are reserved)`);
  }
  if (!w.allowTransforms) throw invalidArgument(`transform ${key} at ${at} is not allowed here`);
  if (w.inArray) throw invalidArgument(`transform ${key} at ${at} is not allowed inside an array`);
  switch (key) {
    case "$increment": {
      const n = typeof x === "number" ? x : isDouble(x) ? numberOf(x) : undefined;
      if (n === undefined) throw invalidArgument(`$increment at ${at} needs a number`);
      return { $increment: numberValue(n) };
    }
    case "$serverTimestamp":
      if (x !== true) throw invalidArgument(`$serverTimestamp at ${at} must be true`);
      return { $serverTimestamp: true };
    case "$delete":
      if (x !== true) throw invalidArgument(`$delete at ${at} must be true`);
      if (!w.allowDelete) {
        throw invalidArgument(`$delete at ${at} is only allowed in a set with merge or as a whole value of an update`);
      }
      return { $delete: true };
    default: {
      if (!Array.isArray(x)) throw invalidArgument(`${key} at ${at} needs an array`);
      // Operands are plain values: the elements sit in an array, so no transforms.
      const elems = checkValue(x, loc, depth, { ...w, inArray: true }) as Value[];
      return { [key]: elems } as MapValue;
    }
  }
}

/** `{ latitude, longitude }`, both numbers in range; canonical with -0 as 0. */
function checkGeo(x: unknown, at: string): GeoValue {
  const fail = (why: string) => invalidArgument(`invalid $geo at ${at}: ${why}`);
  if (!isObject(x)) throw fail("expected an object { latitude, longitude }");
  const keys = Object.keys(x).sort().join(",");
  if (keys !== "latitude,longitude") throw fail(`expected exactly the keys latitude and longitude, got ${JSON.stringify(Object.keys(x))}`);
  const { latitude, longitude } = x;
  if (typeof latitude !== "number" || !(latitude >= -90 && latitude <= 90)) {
    throw fail(`latitude must be a number in [-90, 90], got ${JSON.stringify(latitude)}`);
  }
  if (typeof longitude !== "number" || !(longitude >= -180 && longitude <= 180)) {
    throw fail(`longitude must be a number in [-180, 180], got ${JSON.stringify(longitude)}`);
  }
  return { $geo: { latitude: latitude + 0, longitude: longitude + 0 } };
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function describeType(v: unknown): string {
  if (v === undefined || v === null) return String(v);
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}

/**
 * Validates untrusted document data and returns a canonical copy (timestamps
 * and bytes normalized); never mutates the input. Throws INVALID_ARGUMENT
 * naming the offending field, or PAYLOAD_TOO_LARGE past the size limit.
 */
export function validateDocumentData(data: unknown, opts: ValidateOptions = {}): DocumentData {
  if (!isObject(data) || !isPlainObject(data)) {
    throw invalidArgument(`document data must be a JSON object, got ${Array.isArray(data) ? "array" : describeType(data)}`);
  }
  const out = checkMap(data, [], 0, { ...opts, inArray: false });
  checkSize(out);
  return out;
}

/**
 * Validates one value to be written at `fieldPath` (an update's value): same
 * rules as inside a document, depth counted from the path's length.
 */
export function validateFieldValue(value: unknown, fieldPath: string[], opts: ValidateOptions = {}): Value {
  return checkValue(value, fieldPath, fieldPath.length, { ...opts, inArray: false });
}

/** Size of a document as UTF-8 JSON: the measure of the 1 MiB limit. */
export function documentSizeBytes(data: DocumentData): number {
  return utf8Length(JSON.stringify(data));
}

function checkSize(data: DocumentData): void {
  const size = documentSizeBytes(data);
  if (size > LIMITS.maxDocumentBytes) {
    throw new BlazeError(
      "PAYLOAD_TOO_LARGE",
      `document is ${size} bytes, more than the limit of ${LIMITS.maxDocumentBytes}`,
      { size, limit: LIMITS.maxDocumentBytes },
    );
  }
}
