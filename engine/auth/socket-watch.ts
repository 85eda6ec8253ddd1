/**
 * A WebSocket outlives the check made when it opened: every
 * SOCKET_RECHECK_MS its credentials are checked again (key rows come from
 * the AUTH_CACHE_TTL_MS cache, a JWT is verified again), so a revoked key
 * ends its sockets within seconds and a JWT ends them when it expires (with
 * JWT_CLOCK_SKEW_S, as on requests). Only a refusal ends the socket; a
 * check that fails for another reason (D1 or the JWKS unavailable) is tried
 * again at the next tick.
 */
import type { AuthContext } from "../core/auth";
import { BlazeError } from "../core/errors";

export const SOCKET_RECHECK_MS = 2_000;

/** Starts re-checking; returns the function that stops it. An anonymous socket has nothing to lose. */
export function watchCredentials(auth: AuthContext, recheck: () => Promise<unknown>, onRefused: (e: BlazeError) => void): () => void {
  if (auth.role === "client" && auth.keyId === null && auth.user === null) return () => {};
  let stopped = false;
  const stop = () => {
    stopped = true;
    clearInterval(timer);
  };
  const timer = setInterval(() => {
    recheck().then(
      () => {},
      (e) => {
        if (stopped || !(e instanceof BlazeError && e.code === "UNAUTHENTICATED")) return;
        stop();
        onRefused(e);
      },
    );
  }, SOCKET_RECHECK_MS);
  return stop;
}
