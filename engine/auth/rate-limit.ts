/**
 * Per-caller and per-IP rate limits on Cloudflare's rate-limiting bindings
 * (wrangler.toml [[ratelimits]]: RATE_LIMIT_CALLER, RATE_LIMIT_IP; the
 * limits and periods are set there). A caller is its user (JWT `sub`) or,
 * without one, its API key; anonymous callers have only the IP limit.
 * Admin keys (servers, operators) and dev mode (`npm start`, benchmarks)
 * are not limited. Over a limit: RESOURCE_EXHAUSTED with Retry-After.
 */
import type { AuthContext } from "../core/auth";
import { BlazeError } from "../core/errors";
import { isDev, type AuthEnv } from "./env";

/** The period of both limits (wrangler.toml's `simple.period`): how long to wait when refused. */
export const RATE_LIMIT_PERIOD_S = 10;

export interface RateLimitEnv extends AuthEnv {
  RATE_LIMIT_CALLER?: RateLimit;
  RATE_LIMIT_IP?: RateLimit;
}

/** The per-caller key: the user, else the API key; null for anonymous and admin callers. */
export function callerLimitKey(auth: AuthContext): string | null {
  if (auth.role === "admin") return null;
  if (auth.user) return `user:${auth.user.uid}`;
  return auth.keyId === null ? null : `key:${auth.keyId}`;
}

export async function enforceRateLimits(env: RateLimitEnv, auth: AuthContext, request: Request): Promise<void> {
  if (isDev(env) || auth.role === "admin") return;
  const caller = callerLimitKey(auth);
  // Cloudflare sets CF-Connecting-IP on every request it proxies; it is absent only locally.
  const ip = request.headers.get("CF-Connecting-IP") ?? "unknown";
  const [byCaller, byIp] = await Promise.all([
    caller === null || !env.RATE_LIMIT_CALLER ? { success: true } : env.RATE_LIMIT_CALLER.limit({ key: caller }),
    env.RATE_LIMIT_IP ? env.RATE_LIMIT_IP.limit({ key: `ip:${ip}` }) : { success: true },
  ]);
  if (byCaller.success && byIp.success) return;
  const which = byCaller.success ? `this address (${ip})` : caller!.startsWith("user:") ? "this user" : "this API key";
  throw new BlazeError("RESOURCE_EXHAUSTED", `too many requests from ${which}; retry after ${RATE_LIMIT_PERIOD_S} s`, {
    limit: byCaller.success ? "ip" : "caller",
    retryAfterMs: RATE_LIMIT_PERIOD_S * 1000,
  });
}
