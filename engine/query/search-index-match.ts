/**
 * Which declared search index serves a search (docs/search.md), and the
 * FTS5 MATCH expression it runs. A collection query may use a COLLECTION or
 * COLLECTION_GROUP index of its collection id, a collection-group query a
 * COLLECTION_GROUP one; the index must hold every searched field (and have
 * the tokenizer asked for). The first declared index that fits is used.
 */
import { BlazeError, invalidArgument } from "../core/errors";
import type { QueryAst } from "../core/query/ast";
import type { QueryScope, SearchSpec } from "../core/query/normalize";
import { normalizeQuery } from "../core/query/normalize";
import { searchExpression, trigramTerms, TRIGRAM_MIN_CHARS, type TextTokenizer } from "../core/query/text-search";
import { searchIndexesFor } from "../index/config";
import type { IndexConfig, SearchIndex } from "../index/config-types";
import { searchColumn } from "../index/search";
import { enableSearch } from "../core/query/search-spec";

// Queries reach the engine through this module's planner or resolveSearch: search is understood from here on.
enableSearch();

export function findSearchIndex(config: IndexConfig, scope: QueryScope, fields: string[] | null, tokenizer: TextTokenizer | null): SearchIndex | null {
  return (
    searchIndexesFor(config, scope.collectionId).find(
      (i) =>
        (scope.kind === "collection" || i.queryScope === "COLLECTION_GROUP") &&
        (tokenizer === null || i.tokenizer === tokenizer) &&
        (fields === null || fields.every((f) => i.fields.includes(f))),
    ) ?? null
  );
}

/** The search index a normalized search uses, or FAILED_PRECONDITION naming the entry to add. */
export function searchIndexFor(config: IndexConfig, scope: QueryScope, search: SearchSpec): SearchIndex {
  const fields = search.fields?.map((f) => f.field) ?? null;
  const index = findSearchIndex(config, scope, fields, search.tokenizer);
  if (index) return index;
  const entry = {
    collectionGroup: scope.collectionId,
    queryScope: scope.kind === "collection" ? "COLLECTION" : "COLLECTION_GROUP",
    fields: fields ?? ["<field>"],
    ...(search.tokenizer && search.tokenizer !== "unicode61" ? { tokenizer: search.tokenizer } : {}),
  };
  const what = fields ? `fields ${fields.join(", ")}` : "any field";
  throw new BlazeError(
    "FAILED_PRECONDITION",
    `no search index of collection group ${scope.collectionId} covers ${what}${search.tokenizer ? ` with the ${search.tokenizer} tokenizer` : ""}; ` +
      `add to "searchIndexes" in blaze.indexes.json: ${JSON.stringify(entry)}`,
    { searchIndex: entry },
  );
}

/**
 * The query body with its search's fields and tokenizer filled in from the
 * index that serves it, so the query is complete on its own: a live query
 * matches changed documents with it (core/query/evaluate.ts), no config needed.
 */
export function resolveSearch(ast: QueryAst, config: IndexConfig): QueryAst {
  if (ast.search === undefined || (ast.search.fields && ast.search.tokenizer)) return ast;
  const nq = normalizeQuery(ast);
  const index = searchIndexFor(config, nq.scope, nq.search!);
  return { ...ast, search: { ...ast.search, fields: ast.search.fields ?? index.fields, tokenizer: index.tokenizer } };
}

/**
 * A search as a query listener serves it: in document-name order when it
 * has no orderBy, because a live result is kept in memory by the reference
 * matcher, which has no bm25 (ranks also shift with every write).
 */
export function liveSearchOrder(ast: QueryAst): QueryAst {
  return ast.search !== undefined && !ast.orderBy?.length ? { ...ast, orderBy: [["__name__", "asc"]] } : ast;
}

/**
 * The MATCH expression: the search's terms, restricted to the searched
 * columns when they are fewer than the index's. Null: no term, no match.
 */
export function searchMatch(index: SearchIndex, search: SearchSpec): string | null {
  if (index.tokenizer === "trigram") {
    const short = trigramTerms(search.text, search.mode).find((t) => [...t].length < TRIGRAM_MIN_CHARS);
    if (short !== undefined) {
      throw invalidArgument(`search term "${short}" is too short: a trigram search index matches terms of at least ${TRIGRAM_MIN_CHARS} characters`);
    }
  }
  const expr = searchExpression(search.text, search.mode, index.tokenizer);
  if (expr === null) return null;
  const fields = search.fields?.map((f) => f.field) ?? index.fields;
  if (fields.length === index.fields.length) return expr;
  const columns = fields.map((f) => searchColumn(index.fields.indexOf(f)));
  return `{${columns.join(" ")}} : (${expr})`;
}
