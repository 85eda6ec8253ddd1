/**
 * Live queries in an index database: their registrations (table
 * live_queries: key, collection, query body) and the documents in each one's
 * result (table live_members, kept in the database that holds the
 * document). A live-query object registers in every database that holds its
 * collection before its first read; the consumer reads both tables in the
 * same batch as it applies changes (engine/pipeline/live-notify.ts).
 */
import { sql, type SQL } from "drizzle-orm";

export interface LiveRegistration {
  query_key: string;
  collection_id: string;
  /** The query body as JSON. */
  query: string;
}

export interface LiveMember {
  query_key: string;
  path: string;
}

export function registerLiveQuery(queryKey: string, collectionId: string, query: string, now: string): SQL {
  return sql`INSERT INTO live_queries (query_key, collection_id, query, registered_at) VALUES (${queryKey}, ${collectionId}, ${query}, ${now})
    ON CONFLICT(query_key) DO UPDATE SET query = excluded.query`;
}

export function unregisterLiveQuery(queryKey: string): SQL[] {
  return [sql`DELETE FROM live_queries WHERE query_key = ${queryKey}`, sql`DELETE FROM live_members WHERE query_key = ${queryKey}`];
}

/** The registrations on these collection ids (one bound parameter, whatever their number). */
export function liveQueriesOn(collectionIds: string[]): SQL {
  return sql`SELECT query_key, collection_id, query FROM live_queries
    WHERE collection_id IN (SELECT value FROM json_each(${JSON.stringify([...new Set(collectionIds)])}))`;
}

/** Which live queries hold these documents in their results. */
export function liveMembersOf(paths: string[]): SQL {
  return sql`SELECT query_key, path FROM live_members WHERE path IN (SELECT value FROM json_each(${JSON.stringify([...new Set(paths)])}))`;
}

export function addLiveMembers(queryKey: string, paths: string[]): SQL {
  return sql`INSERT OR IGNORE INTO live_members (query_key, path) SELECT ${queryKey}, value FROM json_each(${JSON.stringify(paths)})`;
}

export function removeLiveMembers(queryKey: string, paths: string[]): SQL {
  return sql`DELETE FROM live_members WHERE query_key = ${queryKey} AND path IN (SELECT value FROM json_each(${JSON.stringify(paths)}))`;
}

/** The versions the database holds of these documents (absent: deleted or never written). */
export function documentVersions(paths: string[]): SQL {
  return sql`SELECT path, version FROM documents WHERE path IN (SELECT value FROM json_each(${JSON.stringify(paths)}))`;
}
