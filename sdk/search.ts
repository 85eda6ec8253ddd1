/**
 * Full-text search as a query constraint (docs/search.md):
 * `query(tasks, search("quick fox", { fields: ["title"], mode: "prefix" }))`.
 * It is the query body's `search`; the fields must be declared in a search
 * index (blaze.indexes.json `searchIndexes`). Without orderBy, getDocs
 * answers the best matches first; listeners order a search by document name.
 * Its own module, so an app that never searches does not bundle the matcher.
 */
import type { SearchAst } from "../engine/core/query/ast";
import { enableSearch } from "../engine/core/query/search-spec";
import { invalid } from "./errors";
import type { Query } from "./reference";
import { QueryConstraint, withState } from "./query";
import { FieldPath, fieldPathText } from "./values";

export type SearchMode = "words" | "phrase" | "prefix";

export interface SearchOptions {
  /** Fields to search (all in one search index); left out: the fields of the collection's first search index. */
  fields?: (string | FieldPath)[];
  /** words (default): every word; phrase: the words in a row; prefix: every word starts a word. */
  mode?: SearchMode;
}

export class QuerySearchConstraint extends QueryConstraint {
  readonly type = "search" as const;
  /** @internal */
  constructor(readonly _search: SearchAst) {
    super();
  }
  _apply<T>(q: Query<T>): Query<T> {
    return withState(q, { search: this._search });
  }
}

export function search(text: string, options: SearchOptions = {}): QuerySearchConstraint {
  // The SDK matches pending writes against a search query locally: load the matcher now.
  enableSearch();
  if (typeof text !== "string") throw invalid("Function search() requires its first argument to be a string.");
  const { fields, mode } = options;
  if (mode !== undefined && mode !== "words" && mode !== "phrase" && mode !== "prefix") {
    throw invalid(`Function search() called with invalid mode '${mode}'.`);
  }
  return new QuerySearchConstraint({
    text,
    ...(fields ? { fields: fields.map((f) => fieldPathText(f, "search")) } : {}),
    ...(mode ? { mode } : {}),
  });
}
