/**
 * Evaluates compiled rules. Firestore's semantics: a request is allowed if
 * any rule of any pattern matching its path allows it; nothing matching, or
 * a rule that throws, denies. Admin callers never come here.
 */
import { BlazeError } from "../errors";
import type { AuthUser } from "../auth";
import type { FilterAst, QueryAst } from "../query/ast";
import type { QueryScope } from "../query/normalize";
import type { DocumentData } from "../values";
import type { CompiledRules, ListFilter, PathRules, Rule, RuleContext, RuleOp } from "./define";
import { matchCollection, matchCollectionGroup, matchDocument, type Params } from "./patterns";

export type WriteOp = "create" | "update" | "delete";

/** Firestore's wording, so ported code that matches on it keeps working. */
const DENIED = "Missing or insufficient permissions.";
export const permissionDenied = (op: RuleOp, path: string) => new BlazeError("PERMISSION_DENIED", DENIED, { op, path });

/** The shorthand each operation also answers to. */
const SHORTHAND: Record<RuleOp, keyof PathRules> = { get: "read", list: "read", create: "write", update: "write", delete: "write" };

function rulesFor(rules: PathRules, op: RuleOp): ((ctx: RuleContext) => unknown)[] {
  return [rules[op], rules[SHORTHAND[op]]].filter((r): r is Rule => r !== undefined);
}

/** A rule's answer; a rule that throws (say, `auth.uid` with no auth) denies. */
function run(rule: (ctx: RuleContext) => unknown, ctx: RuleContext): unknown {
  try {
    return rule(ctx);
  } catch {
    return false;
  }
}

function allowsDocument(rules: CompiledRules, ctx: Omit<RuleContext, "params">): boolean {
  for (const { pattern, rules: r } of rules.entries) {
    const params = matchDocument(pattern, ctx.path);
    if (!params) continue;
    for (const rule of rulesFor(r, ctx.op)) if (run(rule, { ...ctx, params }) === true) return true;
  }
  return false;
}

export function canGet(rules: CompiledRules, auth: AuthUser | null, path: string, doc: DocumentData | null): boolean {
  return allowsDocument(rules, { auth, path, op: "get", doc, newDoc: null });
}

export function authorizeGet(rules: CompiledRules, auth: AuthUser | null, path: string, doc: DocumentData | null): void {
  if (!canGet(rules, auth, path, doc)) throw permissionDenied("get", path);
}

export interface WriteCheck {
  op: WriteOp;
  path: string;
  /** Stored before the write (null if missing). */
  doc: DocumentData | null;
  /** After the write, transforms applied (null for a delete). */
  newDoc: DocumentData | null;
}

export function authorizeWrite(rules: CompiledRules, auth: AuthUser | null, w: WriteCheck): void {
  if (!allowsDocument(rules, { auth, ...w })) throw permissionDenied(w.op, w.path);
}

/** What a list rule lets a caller see of a collection or group. */
export type ListAccess = { kind: "all" } | { kind: "filtered"; filter: ListFilter } | { kind: "denied" };

/** A query's target as the rules see it. */
export type ListTarget = { collection: string } | { collectionGroup: string };

export function listAccess(rules: CompiledRules, auth: AuthUser | null, target: ListTarget): ListAccess {
  const filters: ListFilter[] = [];
  const path = "collection" in target ? target.collection : target.collectionGroup;
  for (const { pattern, rules: r } of rules.entries) {
    const params: Params | null =
      "collection" in target ? matchCollection(pattern, target.collection) : matchCollectionGroup(pattern, target.collectionGroup);
    if (!params) continue;
    for (const rule of rulesFor(r, "list")) {
      const answer = run(rule, { auth, params, path, op: "list", doc: null, newDoc: null });
      if (answer === true) return { kind: "all" };
      if (isUsableFilter(answer)) filters.push(answer);
    }
  }
  if (filters.length === 0) return { kind: "denied" };
  return { kind: "filtered", filter: filters.length === 1 ? filters[0] : { or: filters } };
}

/**
 * The operators a list filter may use: equality-like ones only, so the rule
 * never changes a query's order (an inequality would add an implicit orderBy
 * and move the client's cursors).
 */
export const LIST_FILTER_OPS: ReadonlySet<string> = new Set(["==", "in", "array-contains", "array-contains-any"]);

/** A filter whose every value is defined (`where("owner", "==", auth?.uid)` with no auth is not). */
function isUsableFilter(f: unknown): f is ListFilter {
  if (Array.isArray(f)) {
    if (f.length !== 3 || typeof f[0] !== "string" || !LIST_FILTER_OPS.has(f[1])) return false;
    const v = f[2];
    return v !== undefined && !(Array.isArray(v) && v.some((x) => x === undefined));
  }
  if (typeof f !== "object" || f === null) return false;
  const parts = (f as { and?: unknown; or?: unknown }).and ?? (f as { or?: unknown }).or;
  return Array.isArray(parts) && parts.length > 0 && parts.every(isUsableFilter);
}

/**
 * The query a client may run: its own filters AND the list rule's. Denied
 * outright when no list rule of the target allows it. `scope` is the query's,
 * as normalizeQuery resolved it (paths checked and canonical).
 */
export function restrictQuery(rules: CompiledRules, auth: AuthUser | null, ast: QueryAst, scope: QueryScope): QueryAst {
  const access = listAccess(rules, auth, scope.kind === "collection" ? { collection: scope.path } : { collectionGroup: scope.collectionId });
  const target = scope.kind === "collection" ? scope.path : `**/${scope.collectionId}`;
  if (access.kind === "denied") throw permissionDenied("list", target);
  if (access.kind === "all") return ast;
  const where: FilterAst = ast.where === undefined ? access.filter : { and: [ast.where, access.filter] };
  return { ...ast, where };
}
