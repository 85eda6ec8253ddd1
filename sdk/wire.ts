/**
 * JavaScript values to Blaze's JSON and back (docs/queries.md, "Values that
 * JSON cannot carry"): Timestamp <-> `$timestamp`, Bytes <-> `$bytes`,
 * DocumentReference <-> `$ref`, GeoPoint <-> `$geo`, NaN/±Infinity/-0 <->
 * `$double`, FieldValue sentinels -> transforms (`$increment`, ...).
 */
import { isBytes, isDouble, isGeo, isRef, isTimestamp, numberOf, numberValue, type Value } from "../engine/core/values";
import { parsePath } from "../engine/core/paths";
import type { Blaze } from "./database";
import { core, invalid } from "./errors";
import { DocumentReference } from "./reference";
import { Bytes, FieldValue, GeoPoint, Timestamp } from "./values";

export interface ToWireOptions {
  /** Where the value goes, for messages (`setDoc`, `where`, ...). */
  method: string;
  /** FieldValue sentinels are allowed (write data only, never inside arrays). */
  sentinels: boolean;
  ignoreUndefined?: boolean;
}

function describe(v: unknown): string {
  if (v === undefined) return "undefined";
  if (typeof v === "function") return "a function";
  if (typeof v === "object" && v !== null) return `a custom ${v.constructor?.name ?? "Object"} object`;
  return typeof v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** One JavaScript value as Blaze JSON; throws invalid-argument for what Firestore refuses. */
export function toWire(v: unknown, opts: ToWireOptions, field = "", inArray = false): Value {
  const where = () => (field ? ` (found in field ${field})` : "");
  if (v === null) return null;
  switch (typeof v) {
    case "boolean":
    case "string":
      return v;
    case "number":
      return numberValue(v);
  }
  if (v instanceof FieldValue) {
    if (!opts.sentinels) throw invalid(`Function ${opts.method}() called with invalid data. ${sentinelName(v)}() can only be used with update() and set()${where()}`);
    if (inArray) throw invalid(`Function ${opts.method}() called with invalid data. ${sentinelName(v)}() is not currently supported inside arrays${where()}`);
    return sentinelWire(v, opts, field) as unknown as Value;
  }
  if (v instanceof Timestamp) return v._toWire();
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw invalid(`Function ${opts.method}() called with invalid data. Invalid Date${where()}`);
    return Timestamp.fromDate(v)._toWire();
  }
  if (v instanceof GeoPoint) return { $geo: { latitude: v.latitude, longitude: v.longitude } };
  if (v instanceof Bytes) return { $bytes: v.toBase64() };
  if (v instanceof DocumentReference) return { $ref: v.path };
  if (Array.isArray(v)) return v.map((x, i) => toWire(x, opts, `${field}[${i}]`, true));
  if (isPlainObject(v)) {
    const out: Record<string, Value> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) {
        if (opts.ignoreUndefined) continue;
        throw invalid(`Function ${opts.method}() called with invalid data. Unsupported field value: undefined (found in field ${field ? `${field}.${k}` : k})`);
      }
      out[k] = toWire(x, opts, field ? `${field}.${k}` : k, inArray);
    }
    return out;
  }
  throw invalid(`Function ${opts.method}() called with invalid data. Unsupported field value: ${describe(v)}${where()}`);
}

function sentinelName(v: FieldValue): string {
  return v._kind === "delete" ? "deleteField" : v._kind;
}

function sentinelWire(v: FieldValue, opts: ToWireOptions, field: string): object {
  const elements = () => (v._operand as unknown[]).map((x, i) => toWire(x, { ...opts, sentinels: false }, `${field}[${i}]`, true));
  switch (v._kind) {
    case "increment":
      return { $increment: numberValue(v._operand as number) };
    case "serverTimestamp":
      return { $serverTimestamp: true };
    case "arrayUnion":
      return { $arrayUnion: elements() };
    case "arrayRemove":
      return { $arrayRemove: elements() };
    case "delete":
      return { $delete: true };
  }
}

/** Blaze JSON as JavaScript values: tagged values become Timestamp, Bytes, DocumentReference, GeoPoint, numbers. */
export function fromWire(v: Value, db: Blaze): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((x) => fromWire(x, db));
  if (isDouble(v)) return numberOf(v);
  if (isTimestamp(v)) return Timestamp._fromWire(v.$timestamp);
  if (isBytes(v)) return Bytes.fromBase64String(v.$bytes);
  if (isRef(v)) return new DocumentReference(db, null, core(() => parsePath(v.$ref)));
  if (isGeo(v)) return new GeoPoint(v.$geo.latitude, v.$geo.longitude);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = fromWire(x as Value, db);
  return out;
}
