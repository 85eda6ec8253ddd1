/**
 * Composite index keys (design.md, D1): a key is the concatenation of the
 * index fields' order-preserving encodings (descending fields inverted), then
 * the document name ordered like the last field. Encodings are prefix-free,
 * so keys compare field by field, an equality prefix plus a range is one
 * BETWEEN, and reading the whole index backwards gives the exact reverse
 * order. An array-contains field gives one key per distinct element.
 */
import { invalidArgument } from "../core/errors";
import { getField, parseFieldPath } from "../core/field-path";
import { parseDocumentPath } from "../core/paths";
import { isRef, type DocumentData, type Value } from "../core/values";
import type { CompositeIndex, CompositeIndexField } from "./config-types";
import { concatBytes, encodeDocumentName, encodeValue, invertBytes, type Direction } from "./encoding";
import { bytesKey } from "./entries";

/** ASCENDING and array-contains fields encode ascending; DESCENDING inverted. */
export function fieldDirection(field: CompositeIndexField): Direction {
  return field.order === "DESCENDING" ? "desc" : "asc";
}

/** The document name's direction: the last field's, so the index reversed is the order reversed. */
export function nameDirection(index: CompositeIndex): Direction {
  return fieldDirection(index.fields[index.fields.length - 1]);
}

/** The keys of a document in an index; none if a field is missing or an array-contains field is no non-empty array. */
export function compositeEntriesFor(index: CompositeIndex, path: string, data: DocumentData): Uint8Array[] {
  const before: Uint8Array[] = [];
  const after: Uint8Array[] = [];
  let elements: Uint8Array[] | null = null;
  for (const field of index.fields) {
    const v = getField(data, segmentsOf(field.fieldPath));
    if (v === undefined) return [];
    if (field.arrayConfig) {
      if (!Array.isArray(v) || v.length === 0) return [];
      elements = distinctEncodings(v);
    } else (elements ? after : before).push(encodeValue(v, fieldDirection(field)));
  }
  const name = encodeName(path, nameDirection(index));
  if (!elements) return [concatBytes(...before, name)];
  return elements.map((e) => concatBytes(...before, e, ...after, name));
}

/** The scope column: the collection path for COLLECTION scope, the collection id for COLLECTION_GROUP. */
export function compositeScope(index: CompositeIndex, docPath: string): string {
  const p = parseDocumentPath(docPath);
  return index.queryScope === "COLLECTION" ? p.collectionPath : p.collectionId;
}

/**
 * A key prefix for scan bounds: values for the first fields of the index (an
 * array-contains field takes the element), optionally followed by the
 * document name as a reference `{ $ref: path }`, encoded as keys are.
 */
export function compositeKeyPrefix(index: CompositeIndex, values: Value[]): Uint8Array {
  const n = index.fields.length;
  if (values.length > n + 1) {
    throw invalidArgument(`a key prefix of index ${index.id} takes at most ${n + 1} values (its fields, then __name__), got ${values.length}`);
  }
  return concatBytes(
    ...values.map((v, i) => {
      if (i < n) return encodeValue(v, fieldDirection(index.fields[i]));
      if (!isRef(v)) throw invalidArgument(`the value after the fields of index ${index.id} must be a document reference ({ "$ref": path })`);
      return encodeName(v.$ref, nameDirection(index));
    }),
  );
}

/**
 * The smallest byte string above every key that starts with `prefix` (the
 * exclusive upper bound of a prefix scan), or null if there is none (all 0xFF).
 */
export function prefixUpperBound(prefix: Uint8Array): Uint8Array | null {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] !== 0xff) {
      const out = prefix.slice(0, i + 1);
      out[i]++;
      return out;
    }
  }
  return null;
}

function encodeName(path: string, direction: Direction): Uint8Array {
  const name = encodeDocumentName(path);
  return direction === "desc" ? invertBytes(name) : name;
}

/** Ascending encodings of an array's distinct elements (equal encodings are equal values). */
function distinctEncodings(list: Value[]): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  for (const e of list) {
    const b = encodeValue(e);
    const k = bytesKey(b);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(b);
    }
  }
  return out;
}

// Field paths come from the config (a handful), so parse each once.
const segmentCache = new Map<string, string[]>();

function segmentsOf(fieldPath: string): string[] {
  let s = segmentCache.get(fieldPath);
  if (!s) {
    s = parseFieldPath(fieldPath);
    segmentCache.set(fieldPath, s);
  }
  return s;
}
