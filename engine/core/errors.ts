/**
 * The one error type of Blaze. Thrown anywhere (core, shard, pipeline, query),
 * rendered to the JSON error contract `{ error: { code, message, details? } }`
 * in exactly one place (engine/http/render-error.ts).
 */
export const ERROR_STATUS = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  ABORTED: 409,
  FAILED_PRECONDITION: 412,
  PAYLOAD_TOO_LARGE: 413,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

export class BlazeError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = "BlazeError";
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toJSON(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  /** Rebuilds an error that crossed an RPC or WebSocket boundary as plain JSON. */
  static fromJSON(body: ErrorBody): BlazeError {
    return new BlazeError(body.code, body.message, body.details);
  }
}

export const invalidArgument = (message: string, details?: unknown) =>
  new BlazeError("INVALID_ARGUMENT", message, details);

export function isBlazeError(e: unknown): e is BlazeError {
  return e instanceof BlazeError;
}

/**
 * What a Durable Object RPC method returns. Expected failures (a failed
 * precondition, a missing document) come back as values, not exceptions:
 * an exception crossing RPC keeps only its message, and the runtime logs
 * every thrown error as an uncaught exception.
 */
export type RpcResult<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

export async function toRpcResult<T>(body: () => Promise<T>): Promise<RpcResult<T>> {
  try {
    return { ok: true, value: await body() };
  } catch (e) {
    if (e instanceof BlazeError) return { ok: false, error: e.toJSON() };
    throw e;
  }
}

export function unwrap<T>(r: RpcResult<T>): T {
  if (r.ok) return r.value;
  throw BlazeError.fromJSON(r.error);
}
