/**
 * Fuzzing (fast-check) of every HTTP endpoint and the listen protocol with
 * random and malformed input: bodies, paths, query strings, headers,
 * credentials, WebSocket frames. For every request:
 *   - no 5xx: a refusal is the documented JSON error shape
 *     `{ error: { code, message, details? } }` with a documented code whose
 *     status is the response's;
 *   - a refused request changes no data: every document it names is read
 *     before and after, and must be unchanged (no partial write);
 * and afterwards no object is left broken: normal writes, reads, queries and
 * listens all work. Runs are bounded (NUM_RUNS per property) so the file
 * stays well under a minute; a failure prints fast-check's seed and path,
 * and `FUZZ_RUNS=2000 npx vitest run --project workers test/fuzz.test.ts`
 * searches longer.
 */
import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_STATUS } from "../engine/core/errors";
import { parseDocumentPath } from "../engine/core/paths";
import { pathToUrl } from "../engine/http/request";
import { adminHeaders, api, BASE, bodyOf } from "./helpers";
import { openListenSocket } from "./support/listen-socket";

const NUM_RUNS = Number(env.FUZZ_RUNS || 200);
/** Per test: a longer search (FUZZ_RUNS) takes longer. */
const TIMEOUT_MS = Math.max(30_000, NUM_RUNS * 40);
const CODES = Object.keys(ERROR_STATUS).filter((c) => c !== "INTERNAL");

// ---- inputs ----------------------------------------------------------------

const POOL = ["fz/a", "fz/b", "fz/c/sub/d", "fzq/x"];
const BAD_PATHS = [
  "", "fz", "fz/", "/fz/a", "fz//a", "fz/a/sub", "fz/__x__", "fz/.", "fz/..", "fz/a%2Fb", "fz/%E0%A4%A", "fz/%00",
  `fz/${"x".repeat(1501)}`, "fz/😀", "fz/a b", "__a__/b", "fz/a/sub/d/e", "fz/a?x=1", "fz/a#f",
];
/** Document paths as the URL carries them: pool, malformed, or random. */
const urlPath = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...POOL).map((p) => pathToUrl("", p)) },
  fc.constantFrom(...BAD_PATHS),
  fc.string({ maxLength: 30 }).map((s) => `fz/${encodeURIComponent(s)}`),
  fc.string({ maxLength: 30 }),
);
/** Document paths inside a body (batch writes, listen frames). */
const bodyPath = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...POOL) }, fc.constantFrom(...BAD_PATHS), fc.string({ maxLength: 20 }), fc.anything({ maxDepth: 1 }));

const fieldName = fc.oneof(
  fc.constantFrom("a", "n", "tags", "a.b", "`a.b`", "__name__", "$x", "", "a..b", "`", "x".repeat(1600)),
  fc.string({ maxLength: 8 }),
);
const tagged = fc.oneof(
  fc.record({ $timestamp: fc.oneof(fc.string(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.integer()) }),
  fc.record({ $bytes: fc.oneof(fc.string(), fc.base64String()) }),
  fc.record({ $ref: fc.oneof(fc.string(), fc.constantFrom(...POOL, ...BAD_PATHS)) }),
  fc.record({ $double: fc.oneof(fc.constantFrom("NaN", "Infinity", "-Infinity", "nan", ""), fc.double()) }),
  fc.record({ $geo: fc.oneof(fc.record({ latitude: fc.double(), longitude: fc.double() }), fc.anything({ maxDepth: 1 })) }),
  fc.record({ $increment: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)) }),
  fc.record({ $serverTimestamp: fc.anything({ maxDepth: 1 }) }),
  fc.record({ $arrayUnion: fc.anything({ maxDepth: 2 }) }),
  fc.record({ $arrayRemove: fc.anything({ maxDepth: 2 }) }),
  fc.record({ $delete: fc.anything({ maxDepth: 1 }) }),
  fc.dictionary(fc.string({ maxLength: 6 }).map((s) => `$${s}`), fc.anything({ maxDepth: 1 }), { maxKeys: 2 }),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.string({ maxLength: 20 }), fc.constant(2 ** 53 + 1)),
    tagged,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fieldName, tie("value"), { maxKeys: 4 }),
  ),
}));
const nested = (depth: number): unknown => (depth === 0 ? 1 : { a: nested(depth - 1) });
const plainValue = fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.array(fc.constantFrom("a", "b"), { maxLength: 3 }), fc.constant({ $timestamp: "2026-01-02T03:04:05.123456Z" }), fc.constant({ $increment: 1 }));
const documentData = fc.oneof(
  { weight: 3, arbitrary: fc.dictionary(fc.constantFrom("a", "n", "tags", "s", "m.k"), plainValue, { maxKeys: 3 }) },
  { weight: 3, arbitrary: fc.dictionary(fieldName, value, { maxKeys: 5 }) },
  fc.integer({ min: 18, max: 40 }).map(nested),
  fc.record({ big: fc.constant("x".repeat(1024 * 1024 + 10)) }),
);
/** A body: document-like JSON, any JSON, or text that is not JSON (`raw`). */
const body = (structured: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 4, arbitrary: structured.map((json) => ({ json })) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((json) => ({ json })) },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("", "{", "[1,", "nul", "\u0000", '{"a":1}x')).map((raw) => ({ raw })) },
    { weight: 1, arbitrary: fc.constant({ none: true }) },
  );
type Body = { json: unknown } | { raw: string } | { none: true };

const op = fc.oneof(fc.constantFrom("set", "update", "delete", "create", "patch", ""), fc.anything({ maxDepth: 0 }));
const write = fc.record(
  { op, path: bodyPath, data: documentData, merge: fc.anything({ maxDepth: 0 }), ifVersion: fc.oneof(fc.integer({ min: -2, max: 3 }), fc.anything({ maxDepth: 0 })) },
  { requiredKeys: [] },
);
const batchBody = fc.oneof(
  fc.record({ writes: fc.array(write, { maxLength: 4 }) }, { requiredKeys: [] }),
  fc.record({ writes: fc.anything({ maxDepth: 1 }) }),
  fc.constant({ writes: Array.from({ length: 501 }, (_, i) => ({ op: "set", path: `fz/many${i}`, data: { i } })) }),
);

const operator = fc.oneof(fc.constantFrom("==", "!=", "<", "<=", ">", ">=", "array-contains", "array-contains-any", "in", "not-in", "like", ""), fc.anything({ maxDepth: 0 }));
const filter = fc.oneof(
  fc.tuple(fieldName, operator, value),
  fc.record({ and: fc.array(fc.tuple(fieldName, operator, value), { maxLength: 3 }) }),
  fc.record({ or: fc.array(fc.tuple(fieldName, operator, value), { maxLength: 3 }) }),
  fc.anything({ maxDepth: 2 }),
);
/** Queries that are often valid: one fuzzed part at a time is what reaches the planner and the executor. */
const plainQuery = fc.record(
  {
    from: fc.constantFrom({ collection: "fz" }, { collection: "fzq" }, { collectionGroup: "sub" }),
    where: fc.oneof(fc.tuple(fc.constantFrom("n", "s", "tags", "__name__"), fc.constantFrom("==", "<", ">=", "!=", "array-contains", "in", "not-in"), fc.oneof(plainValue, fc.array(plainValue, { maxLength: 3 })))),
    orderBy: fc.constantFrom([["n", "desc"]], [["s", "asc"]], [["__name__", "desc"]]),
    limit: fc.integer({ min: 0, max: 5 }),
    startAfter: fc.array(plainValue, { maxLength: 2 }),
    select: fc.constantFrom(["n"], ["a.b"], []),
    aggregate: fc.constantFrom({ n: { count: true } }, { t: { sum: "n" } }, { a: { avg: "s" } }, { c: { count: true }, m: { sum: "tags" } }, { lo: { min: "n" }, hi: { max: "s" } }),
    groupBy: fc.constantFrom(["s"], ["n", "s"], [], ["tags"], ["__name__"], ["a", "b", "c", "d", "e", "f", "g", "h", "i"]),
    consistency: fc.constantFrom("strong", "eventual"),
    explain: fc.boolean(),
  },
  { requiredKeys: ["from"] },
);
const queryBody = fc.oneof({ weight: 2, arbitrary: plainQuery }, { weight: 1, arbitrary: fc.record(
  {
    from: fc.oneof(
      fc.record({ collection: fc.oneof(fc.constantFrom("fz", "fzq", "fz/a/sub", "", "a/b"), fc.string({ maxLength: 10 })) }),
      fc.record({ collectionGroup: fc.oneof(fc.constantFrom("sub", "", "a/b"), fc.string({ maxLength: 10 })) }),
      fc.anything({ maxDepth: 1 }),
    ),
    where: filter,
    orderBy: fc.oneof(fc.array(fc.tuple(fieldName, fc.constantFrom("asc", "desc", "up", "")), { maxLength: 3 }), fc.anything({ maxDepth: 1 })),
    limit: fc.oneof(fc.integer({ min: -5, max: 2000 }), fc.double(), fc.anything({ maxDepth: 0 })),
    limitToLast: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.anything({ maxDepth: 0 })),
    startAt: fc.anything({ maxDepth: 1 }),
    startAfter: fc.anything({ maxDepth: 1 }),
    endAt: fc.anything({ maxDepth: 1 }),
    endBefore: fc.anything({ maxDepth: 1 }),
    select: fc.oneof(fc.array(fieldName, { maxLength: 3 }), fc.anything({ maxDepth: 1 })),
    aggregate: fc.oneof(
      fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.record({ count: fc.anything({ maxDepth: 0 }) }), fc.record({ sum: fieldName }), fc.record({ avg: fieldName }), fc.anything({ maxDepth: 1 })), { maxKeys: 3 }),
      fc.anything({ maxDepth: 1 }),
    ),
    groupBy: fc.anything({ maxDepth: 1 }),
    after: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom("0:1", "1:99999999", "x:y", "-1:-1", "0:1,0:2")),
    consistency: fc.oneof(fc.constantFrom("strong", "eventual", ""), fc.anything({ maxDepth: 0 })),
    explain: fc.anything({ maxDepth: 0 }),
  },
  { requiredKeys: [] },
) });

/** Printable ASCII header values (others cannot even be sent). */
const headerText = fc.stringMatching(/^[\x20-\x7e]{0,60}$/);
const credential = fc.oneof(
  fc.constantFrom("", "blz_admin_x_y", "blz_client_abc_def", "eyJhbGciOiJIUzI1NiJ9.e30.x", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.", "a.b.c"),
  headerText,
);
/** Mostly no credentials (dev mode lets anonymous callers in), so most requests reach the routes; sometimes bad ones. */
const authorization = fc.oneof(
  { weight: 6, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.oneof(credential.map((c) => `Bearer ${c}`), headerText, fc.constantFrom("Basic YTpi", "Bearer", "bearer  x")).map((a) => ({ Authorization: a })) },
);
const headers = fc
  .tuple(
    authorization,
    fc.record(
      {
        "If-Match": fc.oneof(fc.constantFrom('"1"', "W/\"2\"", "0", "-1", "1e3", "99999999999999999999"), headerText),
        "Idempotency-Key": fc.oneof(headerText, fc.constant("k".repeat(300))),
        "Content-Type": fc.oneof(fc.constantFrom("application/json", "text/plain", "multipart/form-data; boundary=x", ""), headerText),
        "Content-Length": fc.constantFrom("0", "99999999999", "-1", "abc"),
      },
      { requiredKeys: [] },
    ),
  )
  .map(([a, h]) => ({ ...a, ...h }) as Record<string, string>);
const credentialParams = fc.oneof(
  { weight: 6, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: fc.oneof(credential.map((c) => `key=${encodeURIComponent(c)}`), credential.map((c) => `access_token=${encodeURIComponent(c)}`)) },
);

// ---- the checks ------------------------------------------------------------

/** Statuses answered, for the figures in docs/reliability.md. */
const seen = new Map<number, number>();
afterAll(() => console.log(`fuzz: ${NUM_RUNS} runs per property; statuses ${JSON.stringify(Object.fromEntries([...seen].sort((a, b) => a[0] - b[0])))}`));

interface Sent {
  status: number;
  body: any;
}

async function send(method: string, url: string, b: Body, h: Record<string, string>): Promise<Sent | null> {
  let request: Request;
  try {
    const init: RequestInit = { method, headers: h };
    if (!("none" in b) && method !== "GET" && method !== "HEAD") init.body = "raw" in b ? b.raw : JSON.stringify(b.json);
    request = new Request(`${BASE}${url}`, init);
  } catch {
    return null; // the client itself cannot send it (a bad header value, a body on GET)
  }
  const res = await exports.default.fetch(request);
  seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
  if (res.webSocket) {
    res.webSocket.accept();
    res.webSocket.close(1000, "fuzz");
  }
  return { status: res.status, body: await bodyOf(res) };
}

/** The documented error shape with a documented code, or a success. */
function expectDocumented(r: Sent, what: string, method: string): void {
  const context = `${what} -> ${r.status} ${JSON.stringify(r.body)?.slice(0, 300)}`;
  expect(r.status, context).toBeLessThan(500);
  // HEAD answers carry no body.
  if (r.status < 400 || method === "HEAD") return;
  expect(r.body, context).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
  expect(Object.keys(r.body), context).toEqual(["error"]);
  expect(Object.keys(r.body.error).every((k) => ["code", "message", "details"].includes(k)), context).toBe(true);
  expect(CODES, context).toContain(r.body.error.code);
  expect(ERROR_STATUS[r.body.error.code as keyof typeof ERROR_STATUS], context).toBe(r.status);
}

/** The documents a request names, that are valid paths (others cannot hold data). */
function named(urlDocPath: string | null, b: Body): string[] {
  const out = new Set<string>();
  const add = (p: unknown) => {
    if (typeof p !== "string") return;
    try {
      out.add(parseDocumentPath(p).path);
    } catch {
      // not a document path
    }
  };
  if (urlDocPath !== null) {
    try {
      add(urlDocPath.split("/").map(decodeURIComponent).join("/"));
    } catch {
      // not decodable
    }
  }
  const writes = "json" in b && b.json && typeof b.json === "object" ? (b.json as { writes?: unknown }).writes : undefined;
  if (Array.isArray(writes)) for (const w of writes.slice(0, 10)) add((w as { path?: unknown } | null)?.path);
  return [...out];
}

async function snapshot(paths: string[]): Promise<string[]> {
  return Promise.all(
    paths.map(async (p) => {
      const r = await api("GET", pathToUrl("/v1/docs/", p));
      return `${p} ${r.status} ${r.status === 200 ? `${r.body.version} ${JSON.stringify(r.body.data)}` : ""}`;
    }),
  );
}

/** Sends one fuzzed request and checks its answer and, when refused, that nothing it names changed. */
async function fuzzOne(method: string, url: string, b: Body, h: Record<string, string>, urlDocPath: string | null): Promise<void> {
  const paths = named(urlDocPath, b);
  const before = await snapshot(paths);
  const r = await send(method, url, b, h);
  if (!r) return;
  const what = `${method} ${url.slice(0, 200)} ${JSON.stringify(b).slice(0, 300)} ${JSON.stringify(h).slice(0, 200)}`;
  expectDocumented(r, what, method);
  if (r.status >= 400) expect(await snapshot(paths), `refused, yet changed data: ${what}`).toEqual(before);
}

const property = <T>(arb: fc.Arbitrary<T>, f: (t: T) => Promise<void>) => fc.assert(fc.asyncProperty(arb, f), { numRuns: NUM_RUNS });

beforeAll(async () => {
  for (const p of POOL) expect((await api("PUT", `/v1/docs/${p}`, { n: 1, tags: ["a"], s: "x" })).status).toBe(200);
});

describe("fuzzed HTTP requests: no 5xx, the documented errors, no change from a refusal", () => {
  it("document routes (GET, PUT, POST, PATCH, DELETE)", async () => {
    const methods = fc.constantFrom("GET", "PUT", "POST", "PATCH", "DELETE", "OPTIONS", "HEAD");
    const query = fc.oneof(fc.constant(""), fc.constantFrom("?merge=true", "?merge=false", "?merge=yes", "?merge=", "?merge=true&merge=false"), credentialParams.map((q) => (q ? `?${q}` : "")));
    await property(fc.tuple(methods, urlPath, query, body(documentData), headers), ([m, p, q, b, h]) => fuzzOne(m, `/v1/docs/${p}${q}`, b, h, p));
  }, TIMEOUT_MS);

  it("POST /v1/batch", async () => {
    await property(fc.tuple(body(batchBody), headers), ([b, h]) => fuzzOne("POST", "/v1/batch", b, h, null));
  }, TIMEOUT_MS);

  it("POST /v1/query (documents and aggregates)", async () => {
    await property(fc.tuple(body(queryBody), headers, credentialParams), ([b, h, q]) => fuzzOne("POST", `/v1/query${q ? `?${q}` : ""}`, b, h, null));
  }, TIMEOUT_MS);

  it("GET /v1/listen (the upgrade), /v1/status, /v1/admin/*, unknown routes", async () => {
    const target = fc.oneof(
      fc.tuple(fc.constant("GET"), fc.oneof(fc.constant("/v1/listen"), urlPath.map((p) => `/v1/listen?doc=${p}`), fc.string({ maxLength: 6 }).map((s) => `/v1/listen?shard=${encodeURIComponent(s)}`))),
      fc.tuple(fc.constantFrom("GET", "POST"), fc.constantFrom("/v1/status", "/v1/status/x", "/v1/admin/replay-quarantined", "/v1/admin/nothing")),
      fc.tuple(fc.constant("POST"), fc.string({ maxLength: 6 }).map((s) => `/v1/admin/replay-quarantined?shard=${encodeURIComponent(s)}`)),
      fc.tuple(fc.constantFrom("GET", "PUT", "POST", "DELETE"), fc.string({ maxLength: 20 }).map((s) => `/v1/${encodeURIComponent(s)}`)),
    );
    const b64url = (t: string) => btoa(t).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const subprotocols = fc.oneof(
      fc.constantFrom("blaze.v1", "blaze.v2", "blaze.auth.", "blaze.auth.!!!", ""),
      credential.map((c) => `blaze.v1, blaze.auth.${b64url(c)}`),
      credential.map((c) => `blaze.auth.${b64url(c)}`),
      fc.tuple(credential, credential).map(([a, b]) => `blaze.v1, blaze.auth.${b64url(a)}, blaze.auth.${b64url(b)}`),
    );
    const upgrade = fc.record(
      { Upgrade: fc.constantFrom("websocket", "WebSocket", "h2c", ""), "Sec-WebSocket-Protocol": subprotocols },
      { requiredKeys: [] },
    );
    // Mostly as an operator (these routes are admin only), so the fuzz gets past the key check.
    const admin = await adminHeaders();
    const asAdmin = fc.boolean().map((yes) => (yes ? admin : {}));
    await property(fc.tuple(target, body(fc.anything({ maxDepth: 2 })), headers, upgrade, asAdmin), ([[m, url], b, h, u, a]) =>
      fuzzOne(m, url, b, { ...h, ...u, ...a }, null),
    );
  }, TIMEOUT_MS);
});

// ---- the listen protocol ---------------------------------------------------

const listenFrame = fc.oneof(
  fc.record(
    {
      op: fc.oneof(fc.constantFrom("listen", "unlisten", "ping", "LISTEN", ""), fc.anything({ maxDepth: 0 })),
      id: fc.oneof(fc.integer({ min: 1000, max: 2000 }), fc.string({ maxLength: 8 }).map((s) => `f${s}`), fc.anything({ maxDepth: 1 })),
      doc: bodyPath,
      query: fc.oneof(queryBody, fc.anything({ maxDepth: 2 })),
      resume: fc.oneof(fc.constantFrom("0:0", "3:5", "x", "99:99999999", ""), fc.anything({ maxDepth: 0 })),
    },
    { requiredKeys: [] },
  ).map((m) => JSON.stringify(m)),
  fc.string({ maxLength: 60 }),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  fc.constant(`{"op":"listen","id":1,"doc":"${"a/".repeat(40_000)}x"}`),
  fc.uint8Array({ maxLength: 20 }),
);

/** What the server may send on the listen socket: snapshots, aggregates, pongs, auth answers, documented errors. */
function expectServerMessage(m: any, frame: string): void {
  const context = `${frame.slice(0, 300)} -> ${JSON.stringify(m).slice(0, 300)}`;
  expect(["snapshot", "aggregate", "error", "pong", "auth"], context).toContain(m.type);
  if (m.type !== "error") return;
  expect(m.error, context).toMatchObject({ code: expect.any(String), message: expect.any(String) });
  expect(CODES, context).toContain(m.error.code);
}

describe("fuzzed listen frames", () => {
  it("answer with documented errors on the listener (or id null), never close the socket, and leave it working", async () => {
    // A real listener beside the fuzz, on a document the fuzz never writes: it must keep getting its changes.
    expect((await api("PUT", "/v1/docs/fzkeep/k", { n: 1 })).status).toBe(200);
    const client = await openListenSocket();
    client.send({ op: "listen", id: "keep", doc: "fzkeep/k" });
    const [first] = await client.take("keep");
    expect(first.type).toBe("snapshot");
    await fc.assert(
      fc.asyncProperty(fc.array(listenFrame, { minLength: 1, maxLength: 5 }), async (frames) => {
        for (const f of frames) client.ws.send(f instanceof Uint8Array ? f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength) : f);
        await new Promise((r) => setTimeout(r, 5));
        expect(client.closed(), JSON.stringify(frames).slice(0, 300)).toBeNull();
      }),
      { numRuns: NUM_RUNS },
    );
    // Let the last answers arrive, then judge every message the fuzz drew.
    await new Promise((r) => setTimeout(r, 300));
    for (const m of client.messages.filter((m) => m.id !== "keep")) expectServerMessage(m, "(fuzz frames)");
    expect(client.closed()).toBeNull();
    // The socket still serves its listener and takes new ones.
    client.messages.length = 0;
    const w = await api("PUT", "/v1/docs/fzkeep/k", { n: 2 });
    expect(w.status).toBe(200);
    const [change] = await client.take("keep");
    expect(change.changes.map((c: any) => [c.type, c.doc.data])).toEqual([["modified", { n: 2 }]]);
    // A collection the fuzz never writes.
    expect((await api("PUT", "/v1/docs/fzok/x", { n: 1 })).status).toBe(200);
    client.send({ op: "listen", id: "after", query: { from: { collection: "fzok" } } });
    const [snap] = await client.take("after", 1, 10_000);
    expect(snap.changes.map((c: any) => c.doc.path)).toEqual(["fzok/x"]);
    client.ws.close();
  }, TIMEOUT_MS);
});

const authFrame = fc
  .record({ key: fc.oneof(credential, fc.anything({ maxDepth: 0 })), token: fc.oneof(credential, fc.anything({ maxDepth: 0 })), extra: fc.anything({ maxDepth: 1 }) }, { requiredKeys: [] })
  .map((m) => JSON.stringify({ op: "auth", ...m }));

describe("fuzzed auth frames", () => {
  it("are accepted, or refused with a documented error and, where docs/security.md says so, a 1008 close", async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), authFrame, fc.boolean(), async (listenFirst, frame, secondAuth) => {
        const client = await openListenSocket();
        if (listenFirst) client.send({ op: "listen", id: "a", doc: "fzkeep/k" });
        client.ws.send(frame);
        if (secondAuth) client.ws.send(frame);
        client.send({ op: "listen", id: "b", doc: "fzkeep/k" });
        await new Promise((r) => setTimeout(r, 30));
        const end = Date.now() + 2000;
        // Wait for the verdict: an auth answer, an error, or the listen's snapshot.
        while (Date.now() < end && !client.messages.some((m) => m.type === "auth" || m.type === "error" || m.id === "b") && !client.closed()) {
          await new Promise((r) => setTimeout(r, 10));
        }
        for (const m of client.messages) expectServerMessage(m, frame);
        const closed = client.closed() as { code: number } | null;
        if (closed) {
          expect(closed.code, frame).toBe(1008);
          expect(client.messages.some((m) => m.type === "error" && m.id === null), frame).toBe(true);
        } else client.ws.close();
      }),
      { numRuns: Math.ceil(NUM_RUNS / 4) },
    );
  }, TIMEOUT_MS);
});

describe("after the fuzz", () => {
  it("every route still works normally", async () => {
    // Collections the fuzz never writes.
    expect((await api("PUT", "/v1/docs/fzafter/a", { ok: true })).status).toBe(200);
    expect((await api("GET", "/v1/docs/fzafter/a")).body.data).toEqual({ ok: true });
    const b = await api("POST", "/v1/batch", { writes: [{ op: "set", path: "fzafter/b", data: { ok: 1 } }, { op: "delete", path: "fzafter/a" }] });
    expect(b.status).toBe(200);
    const q = await api("POST", "/v1/query", { from: { collection: "fzafter" }, where: ["ok", "==", 1], consistency: "strong" });
    expect(q.status).toBe(200);
    expect(q.body.docs.map((d: any) => d.path)).toEqual(["fzafter/b"]);
    const agg = await api("POST", "/v1/query", { from: { collection: "fzafter" }, aggregate: { n: { count: true } }, consistency: "strong" });
    expect(agg.body.aggregates).toEqual({ n: 1 });
    const client = await openListenSocket();
    client.send({ op: "listen", id: 1, doc: "fzafter/b" });
    const [snap] = await client.take(1);
    expect(snap.changes[0].doc.data).toEqual({ ok: 1 });
    client.ws.close();
  });
});
