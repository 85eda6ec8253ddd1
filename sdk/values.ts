/**
 * Firestore's value classes (Timestamp, GeoPoint, Bytes, FieldPath) and the
 * FieldValue sentinels, over the encodings in engine/core/values.ts.
 */
import { base64Decode, base64Encode, MAX_SECONDS, MIN_SECONDS, timestampFromParts, timestampToParts } from "../engine/core/values";
import { DOCUMENT_ID_FIELD, formatFieldPath } from "../engine/core/field-path";
import { core, invalid } from "./errors";


/**
 * A point in time with nanosecond fields, as Firebase's. Blaze stores
 * microseconds (as Firestore's backend does): nanoseconds below the
 * microsecond are dropped when the value is written.
 */
export class Timestamp {
  constructor(
    readonly seconds: number,
    readonly nanoseconds: number,
  ) {
    if (!Number.isInteger(seconds) || seconds < MIN_SECONDS || seconds > MAX_SECONDS) {
      throw invalid(`Timestamp seconds out of range: ${seconds}`);
    }
    if (!Number.isInteger(nanoseconds) || nanoseconds < 0 || nanoseconds > 999_999_999) {
      throw invalid(`Timestamp nanoseconds out of range: ${nanoseconds}`);
    }
  }

  static now(): Timestamp {
    return Timestamp.fromMillis(Date.now());
  }

  static fromDate(date: Date): Timestamp {
    return Timestamp.fromMillis(date.getTime());
  }

  static fromMillis(ms: number): Timestamp {
    if (!Number.isFinite(ms)) throw invalid(`Timestamp.fromMillis needs a finite number, got ${ms}`);
    const seconds = Math.floor(ms / 1000);
    return new Timestamp(seconds, Math.floor((ms - seconds * 1000) * 1e6));
  }

  toDate(): Date {
    return new Date(this.toMillis());
  }

  toMillis(): number {
    return this.seconds * 1000 + this.nanoseconds / 1e6;
  }

  isEqual(other: Timestamp): boolean {
    return other instanceof Timestamp && other.seconds === this.seconds && other.nanoseconds === this.nanoseconds;
  }

  toString(): string {
    return `Timestamp(seconds=${this.seconds}, nanoseconds=${this.nanoseconds})`;
  }

  toJSON(): { seconds: number; nanoseconds: number; type: string } {
    return { seconds: this.seconds, nanoseconds: this.nanoseconds, type: "firestore/timestamp/1.0" };
  }

  /** A string whose order is the timestamps' order, so `<` and `>` work (as Firebase's). */
  valueOf(): string {
    return `${String(this.seconds - MIN_SECONDS).padStart(12, "0")}.${String(this.nanoseconds).padStart(9, "0")}`;
  }

  /** @internal the wire form, `{"$timestamp": ISO-8601}` (microseconds kept). */
  _toWire(): { $timestamp: string } {
    return core(() => timestampFromParts(this.seconds, this.nanoseconds));
  }

  /** @internal */
  static _fromWire(iso: string): Timestamp {
    const { seconds, nanos } = core(() => timestampToParts(iso));
    return new Timestamp(seconds, nanos);
  }
}

export class GeoPoint {
  constructor(
    readonly latitude: number,
    readonly longitude: number,
  ) {
    if (!Number.isFinite(latitude) || latitude < -90 || latitude > 90) throw invalid(`Latitude must be a number between -90 and 90, but was: ${latitude}`);
    if (!Number.isFinite(longitude) || longitude < -180 || longitude > 180) {
      throw invalid(`Longitude must be a number between -180 and 180, but was: ${longitude}`);
    }
  }

  isEqual(other: GeoPoint): boolean {
    return other instanceof GeoPoint && other.latitude === this.latitude && other.longitude === this.longitude;
  }

  toJSON(): { latitude: number; longitude: number } {
    return { latitude: this.latitude, longitude: this.longitude };
  }
}

export class Bytes {
  private constructor(private readonly bytes: Uint8Array) {}

  static fromBase64String(base64: string): Bytes {
    const b = base64Decode(base64);
    if (!b) throw invalid("Failed to construct data from Base64 string: not valid base64");
    return new Bytes(b);
  }

  static fromUint8Array(array: Uint8Array): Bytes {
    return new Bytes(new Uint8Array(array));
  }

  toBase64(): string {
    return base64Encode(this.bytes);
  }

  toUint8Array(): Uint8Array {
    return new Uint8Array(this.bytes);
  }

  isEqual(other: Bytes): boolean {
    return other instanceof Bytes && this.toBase64() === other.toBase64();
  }

  toString(): string {
    return `Bytes(base64: ${this.toBase64()})`;
  }
}

/** A field path as segments: `new FieldPath("a.b", "c")` is the field `c` in the field named `a.b`. */
export class FieldPath {
  readonly _segments: readonly string[];

  constructor(...fieldNames: string[]) {
    if (fieldNames.length === 0) throw invalid("Invalid field path. Provide at least one field name.");
    for (const n of fieldNames) {
      if (typeof n !== "string" || n === "") throw invalid("Invalid field name in FieldPath: field names must be non-empty strings.");
    }
    this._segments = fieldNames;
  }

  isEqual(other: FieldPath): boolean {
    return other instanceof FieldPath && other._segments.length === this._segments.length && other._segments.every((s, i) => s === this._segments[i]);
  }

  /** @internal Blaze's canonical text (backticks where a segment needs them); `__name__` for documentId(). */
  _text(): string {
    return this._segments.length === 1 && this._segments[0] === DOCUMENT_ID_FIELD ? DOCUMENT_ID_FIELD : formatFieldPath(this._segments);
  }
}

/** The pseudo field path of the document id, for where() and orderBy(). */
export function documentId(): FieldPath {
  return new FieldPath(DOCUMENT_ID_FIELD);
}

/**
 * A dotted string (Firebase's form: `a.b` is `b` inside `a`) or a FieldPath,
 * as Blaze's field path text. Firebase refuses ~, *, /, [ and ] and empty segments in
 * strings; Blaze refuses only empty segments (it quotes everything else).
 */
export function fieldPathText(path: string | FieldPath, method: string): string {
  if (path instanceof FieldPath) return path._text();
  if (typeof path !== "string") throw invalid(`Function ${method}() called with an invalid field path: expected a string or FieldPath`);
  if (path === DOCUMENT_ID_FIELD) return path;
  const segs = path.split(".");
  if (segs.some((s) => s === "")) throw invalid(`Function ${method}() called with invalid field path "${path}": paths must not be empty, begin or end with '.', or contain '..'`);
  return formatFieldPath(segs);
}

type SentinelKind = "increment" | "serverTimestamp" | "arrayUnion" | "arrayRemove" | "delete";

/** The sentinels that transform a field on write (increment, serverTimestamp, ...). */
export class FieldValue {
  /** @internal */
  constructor(
    readonly _kind: SentinelKind,
    readonly _operand?: unknown,
  ) {}

  isEqual(other: FieldValue): boolean {
    if (!(other instanceof FieldValue) || other._kind !== this._kind) return false;
    return JSON.stringify(other._operand) === JSON.stringify(this._operand);
  }
}

export const increment = (n: number): FieldValue => {
  if (typeof n !== "number") throw invalid("increment() requires a number");
  return new FieldValue("increment", n);
};
export const serverTimestamp = (): FieldValue => new FieldValue("serverTimestamp");
export const arrayUnion = (...elements: unknown[]): FieldValue => new FieldValue("arrayUnion", elements);
export const arrayRemove = (...elements: unknown[]): FieldValue => new FieldValue("arrayRemove", elements);
export const deleteField = (): FieldValue => new FieldValue("delete");
