/**
 * The rules at the edge: reads and queries are judged here, before any data
 * leaves (writes are judged inside their shard: shard/write-rules.ts).
 * Admins bypass the rules.
 */
import { isAdmin, rulesAuth, type AuthContext } from "../core/auth";
import { BlazeError } from "../core/errors";
import type { QueryAst } from "../core/query/ast";
import { normalizeQuery, type NormalizedQuery } from "../core/query/normalize";
import { authorizeGet, restrictQuery } from "../core/rules/evaluate";
import type { DocumentData } from "../core/values";
import { projectRules } from "../auth/load-rules";

export function authorizeRead(auth: AuthContext, path: string, data: DocumentData | null): void {
  if (!isAdmin(auth)) authorizeGet(projectRules, rulesAuth(auth), path, data);
}

/**
 * The caller's query as the engine runs it: the list rule's filter ANDed in
 * (so limits, cursors, aggregates and live updates only see allowed
 * documents), or PERMISSION_DENIED. `explain` counts the index rows a query
 * reads, allowed or not, so a client may explain only a query its rules let
 * it run unfiltered; a rule-filtered one needs an admin key.
 */
export function callerQuery(auth: AuthContext, ast: QueryAst): NormalizedQuery {
  return normalizeQuery(callerQueryAst(auth, ast));
}

/** callerQuery's query before normalizing: what a live-query object is given to serve. */
export function callerQueryAst(auth: AuthContext, ast: QueryAst): QueryAst {
  if (isAdmin(auth)) return ast;
  // Normalized first so the rule sees the checked, canonical collection path.
  const restricted = restrictQuery(projectRules, rulesAuth(auth), ast, normalizeQuery(ast).scope);
  if (restricted !== ast && ast.explain) {
    throw new BlazeError("PERMISSION_DENIED", "explain of a query the rules filter needs an admin key: it counts rows the caller may not read");
  }
  return restricted;
}
