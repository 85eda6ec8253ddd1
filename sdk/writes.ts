/**
 * Turning Firebase write calls into Blaze writes (engine/core/writes.ts):
 * set (with merge or mergeFields), update (object or field/value pairs),
 * delete. Shared by the single-document calls and writeBatch.
 */
import { getField, parseFieldPath, setField } from "../engine/core/field-path";
import { isMap, type DocumentData, type Value } from "../engine/core/values";
import type { Write } from "../engine/core/writes";
import { core, invalid } from "./errors";
import type { DocumentReference, SetOptions } from "./reference";
import { FieldPath, fieldPathText } from "./values";
import { toWire } from "./wire";

const wireData = (ref: DocumentReference<any>, data: unknown, method: string): DocumentData => {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw invalid(`Function ${method}() called with invalid data. Data must be an object, but it was: ${Array.isArray(data) ? "an array" : typeof data}`);
  }
  return toWire(data, { method, sentinels: true, ignoreUndefined: ref.firestore._settings.ignoreUndefinedProperties }) as DocumentData;
};

/**
 * The writes of a set. Plain and `{merge: true}` are one write. `mergeFields`
 * writes only the listed fields, each replaced whole: a listed field holding a
 * non-empty map is first set to `{}` (a merge replaces an empty map but
 * deep-merges a non-empty one), then the fields are merged, in one atomic batch.
 */
export function setWrites(ref: DocumentReference<any>, data: unknown, options: SetOptions | undefined, method: string): Write[] {
  const conv = ref.converter;
  const model = conv ? (options ? conv.toFirestore(data, options) : conv.toFirestore(data)) : data;
  const wire = wireData(ref, model, method);
  const path = ref.path;
  if (options && "mergeFields" in options && options.mergeFields) {
    let picked: DocumentData = {};
    let blank: DocumentData | null = null;
    for (const f of options.mergeFields) {
      const segs = core(() => parseFieldPath(fieldPathText(f as string | FieldPath, method)));
      const v = getField(wire, segs);
      if (v === undefined) throw invalid(`Function ${method}() called with invalid data. Field '${segs.join(".")}' is specified in your field mask but missing from your input data.`);
      picked = setField(picked, segs, v);
      if (isMap(v) && Object.keys(v).length > 0) blank = setField(blank ?? {}, segs, {});
    }
    const writes: Write[] = [];
    if (blank) writes.push({ op: "set", path, data: blank, merge: true });
    writes.push({ op: "set", path, data: picked, merge: true });
    return writes;
  }
  const merge = options !== undefined && "merge" in options && options.merge === true;
  return [{ op: "set", path, data: wire, ...(merge ? { merge: true } : {}) }];
}

/** update(ref, {a: 1, "b.c": 2}) or update(ref, "a", 1, new FieldPath("b", "c"), 2). */
export function updateWrite(ref: DocumentReference<any>, args: unknown[], method: string): Write {
  const [first, ...rest] = args;
  const fields: Record<string, Value> = {};
  const opts = { method, sentinels: true, ignoreUndefined: ref.firestore._settings.ignoreUndefinedProperties };
  const put = (key: string | FieldPath, value: unknown) => {
    const text = fieldPathText(key, method);
    if (value === undefined) {
      if (opts.ignoreUndefined) return;
      throw invalid(`Function ${method}() called with invalid data. Unsupported field value: undefined (found in field ${text})`);
    }
    fields[text] = toWire(value, opts, text);
  };
  if (typeof first === "string" || first instanceof FieldPath) {
    if (rest.length % 2 !== 1) throw invalid(`Function ${method}() needs as many values as field paths.`);
    put(first, rest[0]);
    for (let i = 1; i < rest.length; i += 2) {
      const k = rest[i];
      if (typeof k !== "string" && !(k instanceof FieldPath)) throw invalid(`Function ${method}() called with invalid arguments: expected a field path at argument ${i + 2}.`);
      put(k, rest[i + 1]);
    }
  } else {
    if (typeof first !== "object" || first === null || Array.isArray(first)) throw invalid(`Function ${method}() called with invalid data: expected an object.`);
    for (const [k, v] of Object.entries(first)) put(k, v);
  }
  return { op: "update", path: ref.path, data: fields };
}

export const deleteWrite = (ref: DocumentReference<any>): Write => ({ op: "delete", path: ref.path });
