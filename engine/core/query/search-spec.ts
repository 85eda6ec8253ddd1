/**
 * Full-text search in the query language, loaded on demand
 * (normalize.ts `searchSupport`): `enableSearch()` plugs in the search's
 * normalizer and the reference matcher (text-search.ts) for the evaluator.
 * The engine calls it where it plans and matches queries; the SDK's
 * `search()` constraint calls it, so apps that never search do not bundle it.
 */
import { invalidArgument } from "../errors";
import { getField } from "../field-path";
import type { DocumentData } from "../values";
import type { QueryAst } from "./ast";
import { fieldRef, isDocumentName, searchSupport, type NormalizedQuery, type SearchSpec } from "./normalize";
import { matchesSearch, searchableText } from "./text-search";

/**
 * search (Blaze): fields distinct, not `__name__`. Without an orderBy the
 * result is in relevance order: no implicit order from inequality filters
 * (the search drives the read, filters are checked per match), and, as
 * ranks shift with every write to the collection, no cursor can name a
 * position in it (refused); the answer is the best `limit` matches.
 * Completes `nq`, which normalizeQuery built from the rest of the body.
 */
export function normalizeSearch(ast: QueryAst, nq: NormalizedQuery): void {
  const raw = ast.search!;
  const seen = new Set<string>();
  const fields = raw.fields?.map((f, i) => {
    const ref = fieldRef(f, `search.fields[${i}]`);
    if (isDocumentName(ref)) throw invalidArgument(`search.fields[${i}]: __name__ cannot be searched`);
    if (seen.has(ref.field)) throw invalidArgument(`search.fields[${i}]: field ${ref.field} is given twice`);
    seen.add(ref.field);
    return ref;
  });
  const relevance = !ast.orderBy?.length;
  if (relevance) {
    const cursor = (["startAt", "startAfter", "endAt", "endBefore"] as const).find((k) => ast[k] !== undefined);
    if (cursor) {
      throw invalidArgument(
        `${cursor} needs an orderBy on a search: results in relevance order have no stable position (ranks change with every write); order by a field to page with cursors`,
      );
    }
    // Only the name: the tie-break of equal ranks, and the order a listener keeps.
    nq.orderBy = nq.orderBy.slice(-1);
  }
  if (Object.values(ast.aggregate ?? {}).some((a) => "min" in a || "max" in a)) {
    throw invalidArgument("min and max aggregations cannot be combined with search; count, sum and avg can");
  }
  nq.search = { text: raw.text, fields: fields ?? null, mode: raw.mode ?? "words", tokenizer: raw.tokenizer ?? null, relevance };
}

/**
 * True if the document's searched fields match the search; fields not
 * filled in from an index (never by the engine) search every top-level field.
 */
export function matchesSearchOf(doc: { data: DocumentData }, search: SearchSpec | null | undefined): boolean {
  if (!search) return true;
  const values = search.fields ? search.fields.map((f) => getField(doc.data, f.segments)) : Object.values(doc.data);
  return matchesSearch(values.map(searchableText), search.text, search.mode, search.tokenizer ?? "unicode61");
}

export function enableSearch(): void {
  searchSupport.normalize = normalizeSearch;
  searchSupport.matches = matchesSearchOf;
}
