/**
 * The rules a project writes in blaze.rules.ts: per path pattern, who may
 * `get`, `list`, `create`, `update` and `delete` (with `read` and `write` as
 * shorthands, as in Firestore). Rules are plain synchronous functions of a
 * context; anything not allowed is denied, and a rule that throws denies.
 *
 * A `list` rule answers `true` (every document of the target may be listed),
 * `false`, or a filter built with `where` / `and` / `or` that the engine ANDs
 * into the query (row-level security): the query, its limit, cursors,
 * aggregates and live updates then only ever see allowed documents, and stay
 * index-backed.
 */
import type { AuthUser } from "../auth";
import type { FieldFilterAst, FilterAst } from "../query/ast";
import type { DocumentData, Value } from "../values";
import { compilePattern, type Params, type PathPattern } from "./patterns";

export type RuleOp = "get" | "list" | "create" | "update" | "delete";

export interface RuleContext {
  /** The verified user (`sub` as `uid`, every claim in `token`), or null. */
  auth: AuthUser | null;
  /** The pattern's wildcards; undefined where a query does not fix them (the id of a list). */
  params: Params;
  /** The document path (get and writes), or the collection path / group id (list). */
  path: string;
  op: RuleOp;
  /** The stored document: for get, update, delete (null if missing); null for create and list. */
  doc: DocumentData | null;
  /** The document as it would be after the write, transforms applied: create and update. */
  newDoc: DocumentData | null;
}

export type Rule = (ctx: RuleContext) => boolean;
/** A list rule's filter, in the query body's own form (docs/queries.md). */
export type ListFilter = FilterAst;
export type ListRule = (ctx: RuleContext) => boolean | ListFilter;

export interface PathRules {
  read?: Rule;
  get?: Rule;
  list?: ListRule;
  write?: Rule;
  create?: Rule;
  update?: Rule;
  delete?: Rule;
}

export type RulesSource = Record<string, PathRules>;

export interface CompiledRules {
  entries: { pattern: PathPattern; rules: PathRules }[];
  /** Allow-everything rules for local development: a deployed Worker refuses to serve with them. */
  dev: boolean;
}

const OPS = new Set(["read", "get", "list", "write", "create", "update", "delete"]);

/** Checks the patterns and rule names once, when the Worker loads. */
export function defineRules(source: RulesSource): CompiledRules {
  return {
    dev: false,
    entries: Object.entries(source).map(([pattern, rules]) => {
      for (const [op, fn] of Object.entries(rules)) {
        if (!OPS.has(op)) throw new Error(`rules: ${pattern}: unknown rule "${op}" (use ${[...OPS].join(", ")})`);
        if (typeof fn !== "function") throw new Error(`rules: ${pattern}.${op} must be a function`);
      }
      return { pattern: compilePattern(pattern), rules };
    }),
  };
}

/**
 * Everything allowed to everyone: for `npm start` and tests only. A deployed
 * Worker (no BLAZE_DEV) answers every request FAILED_PRECONDITION with them.
 */
export function devRules(): CompiledRules {
  const allow = () => true;
  return { ...defineRules({ "{document=**}": { read: allow, write: allow } }), dev: true };
}

/** A filter for a list rule: the same operators as `where` in a query body. */
export const where = (field: string, op: FieldFilterAst[1], value: Value | undefined): ListFilter =>
  [field, op, value as Value];
export const and = (...filters: ListFilter[]): ListFilter => ({ and: filters });
export const or = (...filters: ListFilter[]): ListFilter => ({ or: filters });
