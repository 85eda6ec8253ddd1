/**
 * A WebSocket outlives the check made when it opened: every
 * SOCKET_RECHECK_MS its credentials are checked again
 * (SocketCredentials.recheck: key rows come from the AUTH_CACHE_TTL_MS
 * cache, a JWT is verified again), so a revoked key ends its socket within
 * seconds and an expired JWT (with JWT_CLOCK_SKEW_S, as on requests) ends
 * its listeners unless a fresh token came first.
 */
import type { BlazeError } from "../core/errors";
import type { SocketCredentials } from "./socket-credentials";

export const SOCKET_RECHECK_MS = 2_000;

export interface WatchHandlers {
  /** The key was revoked (or is no longer valid): end the socket. */
  revoked(e: BlazeError): void;
  /** The JWT expired: end the listeners; a fresh token lets the socket listen again. */
  expired(e: BlazeError): void;
}

/** Starts re-checking; returns the function that stops it. A socket without credentials costs a no-op per tick. */
export function watchCredentials(credentials: SocketCredentials, on: WatchHandlers): () => void {
  let stopped = false;
  let busy = false;
  const timer = setInterval(() => {
    if (busy || !credentials.authenticated) return;
    busy = true;
    credentials.recheck().then(
      (found) => {
        busy = false;
        if (stopped || found === null) return;
        if ("revoked" in found) {
          stop();
          on.revoked(found.revoked);
        } else on.expired(found.expired);
      },
      (e) => {
        busy = false;
        console.error("blaze: a socket's credentials could not be re-checked", e);
      },
    );
  }, SOCKET_RECHECK_MS);
  const stop = () => {
    stopped = true;
    clearInterval(timer);
  };
  return stop;
}
