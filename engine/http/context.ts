/** The Hono environment every route sees: Worker bindings and the caller's identity. */

/** Who is calling. Today every request is anonymous (engine/http/auth.ts). */
export interface AuthContext {
  kind: "anonymous";
}

export interface AppEnv {
  Bindings: Env;
  Variables: { auth: AuthContext };
}
