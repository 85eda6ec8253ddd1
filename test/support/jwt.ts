/** JWTs signed with the test HS256 secret, issuer and audience (vitest.config.ts). */
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { JWT_CLOCK_SKEW_S } from "../../engine/auth/verify-jwt";

/** A token for `uid` with these claims, expiring at `exp` (seconds since the epoch; default in 10 minutes). */
export function testJwt(uid: string, claims: Record<string, unknown> = {}, exp = Math.floor(Date.now() / 1000) + 600): Promise<string> {
  return new SignJWT({ iss: env.JWT_ISSUER, aud: env.JWT_AUDIENCE, exp, ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(uid)
    .sign(new TextEncoder().encode(env.JWT_SECRET));
}

/** An `exp` that is accepted now only thanks to the clock skew, and is past it `seconds` from now. */
export const expiringIn = (seconds: number) => Math.floor(Date.now() / 1000) - JWT_CLOCK_SKEW_S + seconds;
