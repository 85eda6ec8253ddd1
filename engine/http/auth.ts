/**
 * Where authentication will plug in (API keys, JWT: a later issue). Today every
 * request is anonymous; routes read `c.var.auth`, so adding verification here
 * changes no route.
 */
import type { MiddlewareHandler } from "hono";
import { ANONYMOUS } from "../core/auth";
import type { AppEnv } from "./context";

export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("auth", ANONYMOUS);
  await next();
};
