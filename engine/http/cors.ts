/**
 * CORS for browsers on other origins: CORS_ORIGINS lists the allowed
 * origins, comma-separated (`*` for any, for development); empty answers
 * no CORS headers, so only same-origin pages (the demo) can call the API.
 * Runs before authentication: a preflight carries no credentials.
 */
import { cors } from "hono/cors";

/** The Access-Control-Allow-Origin for a request's Origin, or null (not allowed). */
export function allowedOrigin(origin: string, setting: string | undefined): string | null {
  const allowed = (setting ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if (allowed.includes("*")) return "*";
  return allowed.includes(origin) ? origin : null;
}

export const corsMiddleware = cors({
  origin: (origin, c) => allowedOrigin(origin, (c.env as Env).CORS_ORIGINS),
  allowMethods: ["GET", "PUT", "POST", "PATCH", "DELETE"],
  allowHeaders: ["Authorization", "X-Blaze-Key", "Content-Type", "If-Match", "Idempotency-Key"],
  exposeHeaders: ["ETag", "Retry-After"],
  maxAge: 600,
});
