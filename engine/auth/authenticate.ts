/**
 * A request's credentials -> its AuthContext (engine/core/auth.ts). No
 * credential is ANONYMOUS (subject to the rules); any credential presented
 * and not valid is UNAUTHENTICATED, never quietly anonymous.
 */
import { ANONYMOUS, type AuthContext } from "../core/auth";
import { BlazeError } from "../core/errors";
import { metaDatabase } from "../index/routing";
import { presentedCredentials, type PresentedCredentials } from "./credentials";
import type { AuthEnv } from "./env";
import { verifyApiKey } from "./verify-key";
import { verifyJwt } from "./verify-jwt";

export interface Authenticated {
  auth: AuthContext;
  /** When the JWT expires (ms since the epoch), or null without one. */
  expiresAt: number | null;
}

export function authenticateRequest(env: AuthEnv, request: Request): Promise<Authenticated> {
  return authenticateCredentials(env, presentedCredentials(request));
}

/** Credentials however they came (a request, a socket's `{"op":"auth"}`) -> the caller. */
export async function authenticateCredentials(env: AuthEnv, { key, jwt }: PresentedCredentials): Promise<Authenticated> {
  if (key === null && jwt === null) return { auth: ANONYMOUS, expiresAt: null };
  const [verifiedKey, verifiedJwt] = await Promise.all([
    key === null ? null : verifyApiKey(metaDatabase(env), key),
    jwt === null ? null : verifyJwt(env, jwt),
  ]);
  const expiresAt = verifiedJwt?.expiresAt ?? null;
  // An admin key bypasses the rules; a JWT beside it (still verified) changes nothing.
  if (verifiedKey?.role === "admin") return { auth: { role: "admin", keyId: verifiedKey.id }, expiresAt };
  return { auth: { role: "client", keyId: verifiedKey?.id ?? null, user: verifiedJwt?.user ?? null }, expiresAt };
}

/**
 * Admin-only operations (/v1/admin, /v1/status, the internal listen routes):
 * UNAUTHENTICATED without any credential, PERMISSION_DENIED with one that is
 * not an admin key.
 */
export function requireAdmin(auth: AuthContext, what: string): void {
  if (auth.role === "admin") return;
  if (auth.keyId === null && auth.user === null) throw new BlazeError("UNAUTHENTICATED", `${what} needs an admin API key`);
  throw new BlazeError("PERMISSION_DENIED", `${what} needs an admin API key`);
}
