/**
 * Where authentication will plug in (API keys, JWT: a later issue). Today every
 * request is anonymous; routes read `c.var.auth`, so adding verification here
 * changes no route.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";

export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("auth", { kind: "anonymous" });
  await next();
};
