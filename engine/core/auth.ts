/**
 * Who is calling, once the credentials are checked (engine/auth/). Pure data,
 * so it crosses RPC and socket boundaries (a shard evaluates write rules with
 * it; a live listener carries it) and the rules see the same thing everywhere.
 */

/** The verified end user (from a JWT): `auth` in rules, as Firestore's `request.auth`. */
export interface AuthUser {
  /** The JWT's `sub`. */
  uid: string;
  /** Every verified claim of the token. */
  token: Record<string, unknown>;
}

export type AuthContext =
  /** An admin API key: bypasses the rules (servers, operators, the CLI). */
  | { role: "admin"; keyId: string }
  /**
   * Everyone else, subject to the rules: a client API key (`keyId`) and/or a
   * verified JWT (`user`); both null for an anonymous caller.
   */
  | { role: "client"; keyId: string | null; user: AuthUser | null };

export const ANONYMOUS: AuthContext = { role: "client", keyId: null, user: null };

export const isAdmin = (auth: AuthContext): auth is Extract<AuthContext, { role: "admin" }> => auth.role === "admin";

/** What the rules see as `auth`: the user, or null (an admin never reaches the rules). */
export const rulesAuth = (auth: AuthContext): AuthUser | null => (auth.role === "client" ? auth.user : null);

/**
 * A stable name for the caller, for namespacing what one caller must not
 * reach of another's (idempotency keys: a replayed key answers its first
 * outcome, so another caller's key must never hit it).
 */
export function principalOf(auth: AuthContext): string {
  return auth.role === "admin" ? `admin:${auth.keyId}` : `client:${auth.keyId ?? ""}:${auth.user?.uid ?? ""}`;
}
