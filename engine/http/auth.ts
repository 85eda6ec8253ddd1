/**
 * Authentication at the edge (engine/auth/): a deployment that is not
 * configured refuses everything; otherwise the request's credentials become
 * `c.var.auth`, which routes, shards and listeners use for the rules.
 */
import type { MiddlewareHandler } from "hono";
import { assertConfigured } from "../auth/configured";
import { authenticateRequest, requireAdmin } from "../auth/authenticate";
import { enforceRateLimits } from "../auth/rate-limit";
import type { AppEnv } from "./context";

export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  await assertConfigured(c.env);
  const { auth } = await authenticateRequest(c.env, c.req.raw);
  await enforceRateLimits(c.env, auth, c.req.raw);
  c.set("auth", auth);
  await next();
};

/** Operator routes: an admin key, or UNAUTHENTICATED / PERMISSION_DENIED. */
export const adminOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  requireAdmin(c.var.auth, `${c.req.method} ${new URL(c.req.url).pathname}`);
  await next();
};
