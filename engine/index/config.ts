/**
 * Parses the deployment's index config, written in Firestore's
 * firestore.indexes.json format, into IndexConfig (config-types.ts), and
 * answers the two questions the index asks of it: which composite indexes a
 * collection id has, and which fields are exempt from single-field indexing.
 *
 * Canonical form: field paths as formatFieldPath prints them, a trailing
 * `__name__` dropped (the document name always ends a composite key, ordered
 * like the last field), and `id` a hash of that form, so equal definitions
 * get the same id in every deployment and the D1 rows stay valid.
 */
import * as z from "zod";
import { BlazeError, invalidArgument, isBlazeError } from "../core/errors";
import { DOCUMENT_ID_FIELD, formatFieldPath, parseFieldPath } from "../core/field-path";
import { fnv1a32 } from "../core/hash";
import { validateId } from "../core/paths";
import type { CompositeIndex, CompositeIndexField, FieldExemption, IndexConfig, SearchIndex } from "./config-types";

const fieldSchema = z.strictObject({
  fieldPath: z.string(),
  order: z.enum(["ASCENDING", "DESCENDING"]).optional(),
  arrayConfig: z.literal("CONTAINS").optional(),
});

const indexSchema = z.strictObject({
  collectionGroup: z.string(),
  queryScope: z.enum(["COLLECTION", "COLLECTION_GROUP"]).default("COLLECTION"),
  fields: z.array(fieldSchema),
  // Written by `firebase firestore:indexes`; only the values Blaze behaves like are accepted.
  apiScope: z.literal("ANY_API").optional(),
  density: z.literal("SPARSE_ALL").optional(),
});

const overrideSchema = z.strictObject({
  collectionGroup: z.string(),
  fieldPath: z.string(),
  indexes: z.array(z.unknown()),
  ttl: z.boolean().optional(),
});

const searchIndexSchema = z.strictObject({
  collectionGroup: z.string(),
  queryScope: z.enum(["COLLECTION", "COLLECTION_GROUP"]).default("COLLECTION"),
  fields: z.array(z.string()).min(1, "a search index needs at least one field"),
  tokenizer: z.enum(["unicode61", "trigram"], { error: 'tokenizer must be "unicode61" or "trigram"' }).default("unicode61"),
});

const configSchema = z.strictObject({
  indexes: z.array(indexSchema).default([]),
  fieldOverrides: z.array(overrideSchema).default([]),
  searchIndexes: z.array(searchIndexSchema).default([]),
});

type Definition = Omit<CompositeIndex, "id">;

/** Parses and validates firestore.indexes.json-style JSON; throws INVALID_ARGUMENT "invalid index config: <where>: <what>". */
export function parseIndexConfig(json: unknown): IndexConfig {
  return located("invalid index config", () => parseConfig(json));
}

function parseConfig(json: unknown): IndexConfig {
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.length ? formatIssuePath(i.path) : "(root)"}: ${i.message}`);
    throw invalidArgument(issues.slice(0, 5).join("; "), { issues });
  }

  const indexes: CompositeIndex[] = [];
  const byCanonical = new Map<string, number>();
  const byId = new Map<string, number>();
  parsed.data.indexes.forEach((raw, i) => {
    const def = canonicalIndex(raw, `indexes[${i}]`);
    const canon = canonicalJson(def);
    const dup = byCanonical.get(canon);
    if (dup !== undefined) throw invalidArgument(`indexes[${i}] duplicates indexes[${dup}] (${describeIndex(def)})`);
    const id = compositeIndexId(def);
    const clash = byId.get(id);
    if (clash !== undefined) {
      // Ids are 64-bit hashes, so this should never happen; if it does, say so rather than mix two indexes' rows.
      throw invalidArgument(`indexes[${i}] and indexes[${clash}] hash to the same id ${id}; change one definition`);
    }
    byCanonical.set(canon, i);
    byId.set(id, i);
    indexes.push({ id, ...def });
  });

  const exemptions: FieldExemption[] = [];
  const seen = new Map<string, number>();
  parsed.data.fieldOverrides.forEach((o, i) => {
    const at = `fieldOverrides[${i}]`;
    if (o.indexes.length > 0) {
      throw invalidArgument(
        `${at} (${o.collectionGroup}.${o.fieldPath}): only \`"indexes": []\` (exempt the field from single-field indexing) is supported`,
      );
    }
    if (o.ttl) throw invalidArgument(`${at} (${o.collectionGroup}.${o.fieldPath}): TTL policies are not supported`);
    const collectionGroup = located(`${at}.collectionGroup`, () => validateId(o.collectionGroup, "collection group"));
    const segments = located(`${at}.fieldPath`, () => parseFieldPath(o.fieldPath));
    if (segments[0] === DOCUMENT_ID_FIELD) throw invalidArgument(`${at}.fieldPath: __name__ cannot be exempted`);
    const fieldPath = formatFieldPath(segments);
    const key = JSON.stringify([collectionGroup, fieldPath]);
    const dup = seen.get(key);
    if (dup !== undefined) throw invalidArgument(`${at} duplicates fieldOverrides[${dup}] (${collectionGroup} ${fieldPath})`);
    seen.set(key, i);
    exemptions.push({ collectionGroup, fieldPath });
  });

  const searchIndexes = parseSearchIndexes(parsed.data.searchIndexes);
  return searchIndexes.length > 0 ? { indexes, exemptions, searchIndexes } : { indexes, exemptions };
}

function parseSearchIndexes(raw: z.infer<typeof searchIndexSchema>[]): SearchIndex[] {
  const out: SearchIndex[] = [];
  const byId = new Map<string, number>();
  raw.forEach((r, i) => {
    const at = `searchIndexes[${i}]`;
    const collectionGroup = located(`${at}.collectionGroup`, () => validateId(r.collectionGroup, "collection group"));
    const fields: string[] = [];
    r.fields.forEach((f, j) => {
      const fieldPath = formatFieldPath(located(`${at}.fields[${j}]`, () => parseFieldPath(f)));
      if (fieldPath === DOCUMENT_ID_FIELD) throw invalidArgument(`${at}.fields[${j}]: __name__ cannot be searched`);
      if (fields.includes(fieldPath)) throw invalidArgument(`${at}.fields[${j}]: field ${fieldPath} appears twice`);
      fields.push(fieldPath);
    });
    const def = { collectionGroup, queryScope: r.queryScope, fields, tokenizer: r.tokenizer };
    const id = hashedId("si_", JSON.stringify(["search", collectionGroup, r.queryScope, fields, r.tokenizer]));
    const dup = byId.get(id);
    if (dup !== undefined) throw invalidArgument(`${at} duplicates searchIndexes[${dup}] (${collectionGroup} ${r.queryScope}: ${fields.join(", ")}, ${r.tokenizer})`);
    byId.set(id, i);
    out.push({ id, ...def });
  });
  return out;
}

/** The id of a definition: "ci_" + 64 bits of FNV-1a over its canonical JSON (two differently seeded passes). */
export function compositeIndexId(def: Definition): string {
  return hashedId("ci_", canonicalJson(def));
}

function hashedId(prefix: string, canon: string): string {
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  return `${prefix}${hex(fnv1a32(canon))}${hex(fnv1a32("\u0001" + canon))}`;
}

/** True if single-field indexing skips this field (canonical path) of this collection id; an exempt field exempts its subfields. */
export function isExempt(config: IndexConfig, collectionId: string, fieldPath: string): boolean {
  const paths = lookup(config).exempt.get(collectionId);
  if (!paths) return false;
  // Canonical paths parse left to right without look-ahead, so "p." being a
  // string prefix of a canonical path means p's segments are a prefix of its segments.
  return paths.some((p) => fieldPath === p || fieldPath.startsWith(p + "."));
}

/** The search indexes declared for a collection id (both scopes). */
export function searchIndexesFor(config: IndexConfig, collectionId: string): SearchIndex[] {
  return lookup(config).search.get(collectionId) ?? [];
}

/** The composite indexes declared for a collection id (both scopes). */
export function indexesFor(config: IndexConfig, collectionId: string): CompositeIndex[] {
  return lookup(config).indexes.get(collectionId) ?? [];
}

// ------------------------------------------------------------------ internals

interface Lookup {
  indexes: Map<string, CompositeIndex[]>;
  search: Map<string, SearchIndex[]>;
  exempt: Map<string, string[]>;
}

// The consumer asks per field of every document; build the maps once per config.
const lookups = new WeakMap<IndexConfig, Lookup>();

function lookup(config: IndexConfig): Lookup {
  let l = lookups.get(config);
  if (!l) {
    l = { indexes: new Map(), exempt: new Map(), search: new Map() };
    for (const i of config.searchIndexes ?? []) l.search.set(i.collectionGroup, [...(l.search.get(i.collectionGroup) ?? []), i]);
    for (const i of config.indexes) l.indexes.set(i.collectionGroup, [...(l.indexes.get(i.collectionGroup) ?? []), i]);
    for (const e of config.exemptions) l.exempt.set(e.collectionGroup, [...(l.exempt.get(e.collectionGroup) ?? []), e.fieldPath]);
    lookups.set(config, l);
  }
  return l;
}

function canonicalIndex(raw: z.infer<typeof indexSchema>, at: string): Definition {
  const collectionGroup = located(`${at}.collectionGroup`, () => validateId(raw.collectionGroup, "collection group"));
  const fields: CompositeIndexField[] = [];
  let name: CompositeIndexField | null = null;
  for (const [j, f] of raw.fields.entries()) {
    const fat = `${at}.fields[${j}]`;
    if ((f.order === undefined) === (f.arrayConfig === undefined)) {
      throw invalidArgument(`${fat}: give exactly one of "order" or "arrayConfig"`);
    }
    if (name) throw invalidArgument(`${fat}: __name__ may only be the last field`);
    const fieldPath = formatFieldPath(located(`${fat}.fieldPath`, () => parseFieldPath(f.fieldPath)));
    const field: CompositeIndexField = f.order ? { fieldPath, order: f.order } : { fieldPath, arrayConfig: "CONTAINS" };
    if (fieldPath === DOCUMENT_ID_FIELD) {
      if (field.arrayConfig) throw invalidArgument(`${fat}: __name__ cannot have an arrayConfig`);
      name = field;
      continue;
    }
    if (fields.some((g) => g.fieldPath === fieldPath)) throw invalidArgument(`${fat}: field ${fieldPath} appears twice`);
    fields.push(field);
  }
  if (fields.filter((f) => f.arrayConfig).length > 1) {
    throw invalidArgument(`${at}: at most one field may have an arrayConfig`);
  }
  if (fields.length < 2) {
    throw invalidArgument(
      `${at}: a composite index needs at least 2 fields besides __name__ (single-field indexes are automatic)`,
    );
  }
  const lastOrder = fields[fields.length - 1].order ?? "ASCENDING"; // an array-contains field is ordered ascending
  if (name && name.order !== lastOrder) {
    throw invalidArgument(
      `${at}: __name__ must have the order of the last field (${lastOrder}); Blaze orders the document name like the last field`,
    );
  }
  return { collectionGroup, queryScope: raw.queryScope, fields };
}

/** Scope, collection and fields in order; the id hashes exactly this. */
function canonicalJson(def: Definition): string {
  return JSON.stringify([def.collectionGroup, def.queryScope, def.fields.map((f) => [f.fieldPath, f.arrayConfig ?? f.order])]);
}

function describeIndex(def: Definition): string {
  const fields = def.fields.map((f) => `${f.fieldPath} ${f.arrayConfig ?? f.order}`).join(", ");
  return `${def.collectionGroup} ${def.queryScope}: ${fields}`;
}

/** Runs `f`, prefixing a BlazeError's message with where in the config it happened. */
function located<T>(at: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (isBlazeError(e)) throw new BlazeError(e.code, `${at}: ${e.message}`, e.details);
    throw e;
  }
}

function formatIssuePath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}
