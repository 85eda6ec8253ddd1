/**
 * The credentials of one listen socket (GET /v1/listen), which outlive the
 * check made at its upgrade (docs/security.md, "WebSockets"):
 *
 * - `{"op":"auth","key"?,"token"?}` as the first message of a socket opened
 *   without credentials authenticates it, checked as a request's are;
 * - later, `{"op":"auth","token"}` replaces the JWT with a fresh one (a
 *   refresh). Who the socket is cannot change: a token for another user, a
 *   user for a socket that had none, or another key is refused
 *   FAILED_PRECONDITION (open a new socket for a new caller), and a token
 *   that does not verify UNAUTHENTICATED; either way the socket keeps the
 *   credentials it had;
 * - `recheck()` (every SOCKET_RECHECK_MS, socket-watch.ts) tells a revoked
 *   key (the socket is closed) from an expired JWT (its listeners end).
 */
import type { AuthContext } from "../core/auth";
import { BlazeError } from "../core/errors";
import { metaDatabase } from "../index/routing";
import { authenticateCredentials } from "./authenticate";
import type { PresentedCredentials } from "./credentials";
import type { AuthEnv } from "./env";
import { looksLikeKey } from "./key-format";
import { verifyApiKey } from "./verify-key";
import { verifyJwt } from "./verify-jwt";

/** What a socket's `{"op":"auth"}` asks for: a key and/or a JWT. */
export interface SocketAuthRequest {
  key?: string;
  token?: string;
}

export interface SocketCaller {
  auth: AuthContext;
  /** The JWT's `sub` (rules' `auth.uid`), or null. */
  uid: string | null;
  /** When the JWT expires (ms since the epoch), or null without one. */
  expiresAt: number | null;
}

/** What a re-check found: nothing, a refused key (end the socket), or a refused JWT (end its listeners). */
export type Recheck = null | { revoked: BlazeError } | { expired: BlazeError };

const uidOf = (auth: AuthContext): string | null => (auth.role === "client" ? (auth.user?.uid ?? null) : null);

export class SocketCredentials {
  private key: string | null;
  private jwt: string | null;
  /** The JWT was found expired (or refused) and no fresh one has come: not re-checked again. */
  private lapsed = false;

  constructor(
    private readonly env: AuthEnv,
    presented: PresentedCredentials,
    /** The caller the upgrade was authenticated as. */
    public auth: AuthContext,
  ) {
    this.key = presented.key;
    this.jwt = presented.jwt;
  }

  /** True once the socket has a credential (from its upgrade or an auth message). */
  get authenticated(): boolean {
    return this.key !== null || this.jwt !== null;
  }

  /**
   * `{"op":"auth"}`: the new credentials become the socket's once verified.
   * `listened`: the socket has listened already (then, without credentials,
   * as an anonymous caller, which cannot turn into someone).
   */
  async replace(request: SocketAuthRequest, listened: boolean): Promise<SocketCaller> {
    if (request.key !== undefined && !looksLikeKey(request.key)) throw new BlazeError("UNAUTHENTICATED", '"key" takes an API key (blz_...); send a JWT as "token"');
    if (request.token !== undefined && looksLikeKey(request.token)) throw new BlazeError("UNAUTHENTICATED", '"token" takes a JWT; send an API key as "key"');
    const first = !this.authenticated && !listened;
    if (!first) {
      if (request.key !== undefined && request.key !== this.key) throw changed("its API key cannot change");
      if (request.token !== undefined && this.jwt === null) throw changed("a socket without a user cannot take one");
    }
    const key = request.key ?? this.key;
    const jwt = request.token ?? this.jwt;
    const { auth, expiresAt } = await authenticateCredentials(this.env, { key, jwt });
    const uid = uidOf(auth);
    if (!first && uid !== uidOf(this.auth)) throw changed(`the token is for another user (${JSON.stringify(uid)}, not ${JSON.stringify(uidOf(this.auth))})`);
    this.key = key;
    this.jwt = jwt;
    this.auth = auth;
    this.lapsed = false;
    return { auth, uid, expiresAt };
  }

  /** Checks the credentials again; UNAUTHENTICATED only counts (D1 or the JWKS unreachable is tried again later). */
  async recheck(): Promise<Recheck> {
    const { key, jwt } = this;
    const checkJwt = jwt !== null && !this.lapsed;
    const [k, j] = await Promise.allSettled([
      key === null ? null : verifyApiKey(metaDatabase(this.env), key),
      checkJwt ? verifyJwt(this.env, jwt) : null,
    ]);
    // Credentials replaced meanwhile are judged at the next tick.
    if (key === this.key && refused(k)) return { revoked: k.reason };
    if (checkJwt && jwt === this.jwt && !this.lapsed && refused(j)) {
      this.lapsed = true;
      return { expired: j.reason };
    }
    return null;
  }
}

function changed(why: string): BlazeError {
  return new BlazeError("FAILED_PRECONDITION", `a socket's caller cannot change: ${why}; open a new socket for another caller`);
}

function refused(r: PromiseSettledResult<unknown>): r is PromiseRejectedResult & { reason: BlazeError } {
  return r.status === "rejected" && r.reason instanceof BlazeError && r.reason.code === "UNAUTHENTICATED";
}
