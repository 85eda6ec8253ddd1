/** The Hono environment every route sees: Worker bindings and the caller's identity. */

import type { AuthContext } from "../core/auth";

export interface AppEnv {
  Bindings: Env;
  Variables: { auth: AuthContext };
}
