/**
 * Verifies a JWT from an identity provider (jose, Web Crypto): HS256 with
 * JWT_SECRET, RS256/ES256 with the public keys of JWT_JWKS (JSON) or
 * JWT_JWKS_URL (fetched and cached by jose). Each key source accepts only
 * its own algorithms, so an RSA public key can never serve as an HMAC
 * secret (algorithm confusion), and `alg: none` matches no source. `exp`
 * and `sub` are required; `exp`/`nbf` get JWT_CLOCK_SKEW_S of slack;
 * `iss`/`aud` are checked when JWT_ISSUER/JWT_AUDIENCE are set.
 */
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { AuthUser } from "../core/auth";
import { BlazeError } from "../core/errors";
import { setting, type AuthEnv } from "./env";

/** Slack for `exp` and `nbf` against clocks that disagree a little. */
export const JWT_CLOCK_SKEW_S = 30;
const SECRET_ALGORITHMS = ["HS256"];
const PUBLIC_KEY_ALGORITHMS = ["RS256", "ES256"];

interface Verifier {
  secret: Uint8Array | undefined;
  jwks: JWTVerifyGetKey | undefined;
  issuer: string | undefined;
  audience: string | undefined;
}

export interface VerifiedJwt {
  user: AuthUser;
  /** `exp` in ms since the epoch. */
  expiresAt: number;
}

// One verifier per isolate and config: the remote JWKS cache lives in it.
let cached: { config: string; verifier: Verifier } | undefined;

function verifierFor(env: AuthEnv): Verifier {
  const names = ["JWT_SECRET", "JWT_JWKS", "JWT_JWKS_URL", "JWT_ISSUER", "JWT_AUDIENCE"] as const;
  const config = JSON.stringify(names.map((n) => setting(env, n) ?? null));
  if (cached?.config === config) return cached.verifier;
  const secret = setting(env, "JWT_SECRET");
  const jwksJson = setting(env, "JWT_JWKS");
  const jwksUrl = setting(env, "JWT_JWKS_URL");
  let jwks: JWTVerifyGetKey | undefined;
  if (jwksJson !== undefined) {
    try {
      jwks = createLocalJWKSet(JSON.parse(jwksJson));
    } catch (e) {
      throw new BlazeError("FAILED_PRECONDITION", `JWT_JWKS is not a JWKS ({"keys":[...]}): ${(e as Error).message}`);
    }
  } else if (jwksUrl !== undefined) jwks = createRemoteJWKSet(new URL(jwksUrl));
  const verifier = {
    secret: secret === undefined ? undefined : new TextEncoder().encode(secret),
    jwks,
    issuer: setting(env, "JWT_ISSUER"),
    audience: setting(env, "JWT_AUDIENCE"),
  };
  cached = { config, verifier };
  return verifier;
}

export async function verifyJwt(env: AuthEnv, token: string): Promise<VerifiedJwt> {
  const v = verifierFor(env);
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw new BlazeError("UNAUTHENTICATED", "malformed credential: neither an API key (blz_...) nor a JWT");
  }
  const options = { issuer: v.issuer, audience: v.audience, clockTolerance: JWT_CLOCK_SKEW_S, requiredClaims: ["exp", "sub"] };
  let payload: JWTPayload;
  try {
    if (alg !== undefined && SECRET_ALGORITHMS.includes(alg)) {
      if (!v.secret) throw new BlazeError("UNAUTHENTICATED", `JWT algorithm ${alg} is not accepted: JWT_SECRET is not set`);
      ({ payload } = await jwtVerify(token, v.secret, { ...options, algorithms: SECRET_ALGORITHMS }));
    } else if (alg !== undefined && PUBLIC_KEY_ALGORITHMS.includes(alg)) {
      if (!v.jwks) throw new BlazeError("UNAUTHENTICATED", `JWT algorithm ${alg} is not accepted: neither JWT_JWKS nor JWT_JWKS_URL is set`);
      ({ payload } = await jwtVerify(token, v.jwks, { ...options, algorithms: PUBLIC_KEY_ALGORITHMS }));
    } else {
      throw new BlazeError("UNAUTHENTICATED", `JWT algorithm ${JSON.stringify(alg ?? null)} is not accepted (HS256, RS256, ES256)`);
    }
  } catch (e) {
    throw toBlazeError(e);
  }
  if (typeof payload.sub !== "string" || payload.sub === "") throw new BlazeError("UNAUTHENTICATED", "JWT has no subject (sub)");
  return { user: { uid: payload.sub, token: payload as Record<string, unknown> }, expiresAt: (payload.exp as number) * 1000 };
}

function toBlazeError(e: unknown): BlazeError {
  if (e instanceof BlazeError) return e;
  if (e instanceof errors.JWTExpired) return new BlazeError("UNAUTHENTICATED", "JWT expired");
  if (e instanceof errors.JWTClaimValidationFailed) return new BlazeError("UNAUTHENTICATED", `JWT claim ${e.claim} rejected: ${e.reason}`);
  if (e instanceof errors.JWKSNoMatchingKey) return new BlazeError("UNAUTHENTICATED", "JWT key id (kid) matches no key of the JWKS");
  if (e instanceof errors.JWSSignatureVerificationFailed) return new BlazeError("UNAUTHENTICATED", "JWT signature invalid");
  // The provider's JWKS could not be fetched: not the caller's fault, try again.
  if (e instanceof errors.JWKSTimeout || !(e instanceof errors.JOSEError)) {
    console.error("blaze: JWKS unavailable", e);
    return new BlazeError("UNAVAILABLE", "the identity provider's keys (JWT_JWKS_URL) could not be fetched");
  }
  return new BlazeError("UNAUTHENTICATED", `JWT rejected: ${e.message}`);
}
