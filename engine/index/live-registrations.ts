/**
 * Registrations of live queries in an index database (table live_queries).
 * A live-query object registers in every database that holds its
 * collection before its first read; the consumer reads the registrations in
 * the same batch as it applies changes (engine/pipeline/live-notify.ts).
 */
import { sql, type SQL } from "drizzle-orm";

export interface LiveRegistration {
  query_key: string;
  collection_id: string;
}

export function registerLiveQuery(queryKey: string, collectionId: string, now: string): SQL {
  return sql`INSERT INTO live_queries (query_key, collection_id, registered_at) VALUES (${queryKey}, ${collectionId}, ${now})
    ON CONFLICT(query_key) DO NOTHING`;
}

export function unregisterLiveQuery(queryKey: string): SQL {
  return sql`DELETE FROM live_queries WHERE query_key = ${queryKey}`;
}

/** The registrations on these collection ids (one bound parameter, whatever their number). */
export function liveQueriesOn(collectionIds: string[]): SQL {
  return sql`SELECT query_key, collection_id FROM live_queries
    WHERE collection_id IN (SELECT value FROM json_each(${JSON.stringify([...new Set(collectionIds)])}))`;
}
