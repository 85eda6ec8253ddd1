/**
 * The deployment settings the credential checks read (wrangler.toml [vars],
 * secrets set with `wrangler secret put`, BLAZE_DEV from `npm start`); an
 * empty string means unset. docs/security.md describes each.
 */
export interface AuthEnv {
  /** The first index shard holds api_keys (engine/index/routing.ts). */
  INDEX_SHARDS?: string;
  /** "true" only under `npm start`/`npm run dev` and in tests: no admin key is required. */
  BLAZE_DEV?: string;
  /** HS256 shared secret (a secret: `wrangler secret put JWT_SECRET`). */
  JWT_SECRET?: string;
  /** A JWKS as JSON (RS256/ES256 public keys). */
  JWT_JWKS?: string;
  /** A JWKS URL, fetched and cached (Firebase Auth's, or any OIDC provider's jwks_uri). */
  JWT_JWKS_URL?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
}

/** A setting's value, or undefined when unset or empty. */
export function setting(env: AuthEnv, name: keyof AuthEnv): string | undefined {
  const v = env[name];
  return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
}

export const isDev = (env: AuthEnv): boolean => setting(env, "BLAZE_DEV") === "true";
