/**
 * The operations the scenarios are made of, each timed under its own name,
 * checked, and recorded in the history (loadtest/k6/lib/history.ts) with the
 * outcome the checker needs: ok (acknowledged), fail (refused: certainly not
 * applied) or info (unknown). Writes carry an Idempotency-Key and are retried
 * with it while the answer is unknown, so a retry never applies twice.
 */
import type { DocSnap, Outcome } from "./history.ts";
import { baseHeaders, pick, rng, type Res, type Runtime } from "./runtime.ts";

/**
 * The documents of one run: registers, batch documents and counters, one
 * collection each. Batch documents come in generations: every
 * `generationMs` from `start` a new set of `batchDocs` takes the batches, so
 * no document collects batch ids without bound (each batch merges its id
 * into its documents, and a document that only grows makes every later batch
 * rewrite, re-index and re-broadcast more: latency would climb with time).
 * Older generations keep what they hold and are checked at the end like the rest.
 */
export interface Layout {
  reg: string;
  bat: string;
  cnt: string;
  registers: string[];
  counters: string[];
  /** When the run began (ms since the epoch, the load generator's clock): generation 0. */
  start: number;
  generationMs: number;
  /** Batch documents per generation. */
  batchDocs: number;
}

export interface LayoutSizes {
  registers: number;
  batchDocs: number;
  counters: number;
  generationMs: number;
}

export const DEFAULT_SIZES: LayoutSizes = { registers: 50, batchDocs: 8, counters: 4, generationMs: 30_000 };

export function layout(run: string, start: number, sizes: Partial<LayoutSizes> = {}): Layout {
  const z = { ...DEFAULT_SIZES, ...sizes };
  const reg = `lt_${run}_reg`;
  const bat = `lt_${run}_bat`;
  const cnt = `lt_${run}_cnt`;
  const list = (c: string, p: string, n: number) => Array.from({ length: n }, (_, i) => `${c}/${p}${i}`);
  return { reg, bat, cnt, registers: list(reg, "r", z.registers), counters: list(cnt, "c", z.counters), start, generationMs: z.generationMs, batchDocs: z.batchDocs };
}

/** The generation of batch documents in force at `t`. */
export const generationAt = (L: Layout, t: number) => Math.max(0, Math.floor((t - L.start) / L.generationMs));

/** The batch documents of generation `g`. */
export const batchDocsOf = (L: Layout, g: number) => Array.from({ length: L.batchDocs }, (_, i) => `${L.bat}/g${g}b${i}`);

/** The batch documents batches write at `t`. */
export const batchDocsAt = (L: Layout, t: number) => batchDocsOf(L, generationAt(L, t));

/**
 * Listeners take a generation on this long before it starts, so they hear
 * its first batches as changes (a listen that comes later only gets the
 * document as its first snapshot).
 */
export const LISTEN_AHEAD_MS = 2000;

/** Every batch document used up to `t`, or listened to ahead of it. */
export function batchDocsUntil(L: Layout, t: number): string[] {
  const last = generationAt(L, t + LISTEN_AHEAD_MS);
  return Array.from({ length: last + 1 }, (_, g) => batchDocsOf(L, g)).flat();
}

/** How an answer reads for the history: 5xx and no answer at all leave the outcome unknown. */
export function outcomeOf(res: Res): Outcome {
  if (res.status >= 200 && res.status < 300) return "ok";
  if (res.notSent) return "fail";
  if (res.status === 0 || res.status >= 500) return "info";
  return "fail";
}

const RETRIES = 8;

/**
 * Sends a keyed mutation, again with the same key while the outcome is
 * unknown or the server is down (a restart). Unknown if any attempt may have
 * reached the server and none answered for sure.
 */
async function mutate(rt: Runtime, name: string, method: string, path: string, body: unknown, key: string): Promise<Res> {
  let res: Res = { status: 0, body: null };
  let reached = false;
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    res = await rt.request(name, method, path, body, { headers: { ...baseHeaders(rt), "Idempotency-Key": key }, expect: [409, 412] });
    reached ||= !res.notSent;
    if ((res.status !== 0 && res.status < 500) || rt.stopping()) break;
    await rt.sleep(Math.min(2000, 150 * 2 ** attempt));
  }
  return res.notSent && reached ? { ...res, notSent: false } : res;
}

function nextSeq(rt: Runtime): number {
  rt.state.seq = (rt.state.seq ?? 0) + 1;
  return rt.state.seq;
}

const errorOf = (res: Res) => (res.status === 0 ? "no answer" : `${res.status} ${res.body?.error?.code ?? ""}`.trim());

export function snap(d: any): DocSnap {
  return { path: d.path, version: d.version, data: d.data };
}

/** PUT a register with a value no other write has (its tag). */
export async function writeRegister(rt: Runtime, L: Layout): Promise<void> {
  const seq = nextSeq(rt);
  const path = pick(rt, L.registers);
  const tag = `${rt.vu}-${seq}`;
  const done = rt.history.invoke(rt.vu, { f: "write", path, tag });
  const res = await mutate(rt, "write", "PUT", `/v1/docs/${path}`, { tag, at: rt.now(), g: seq % 4, w: rt.vu }, `${rt.run}-${tag}`);
  done(outcomeOf(res), res.body?.version !== undefined ? { version: res.body.version } : undefined, errorOf(res));
  rt.check("write acknowledged", res.status === 200);
}

/** An atomic batch that merges its id into 2-3 batch documents of the current generation. */
export async function writeBatch(rt: Runtime, L: Layout): Promise<void> {
  const seq = nextSeq(rt);
  const id = `b${rt.vu}_${seq}`;
  const docs = batchDocsAt(L, rt.now());
  const first = Math.floor(rng(rt)() * docs.length);
  const size = 2 + (seq % 2);
  const paths = Array.from({ length: size }, (_, i) => docs[(first + i * 3) % docs.length]);
  const done = rt.history.invoke(rt.vu, { f: "batch", id, paths });
  const at = rt.now();
  const writes = paths.map((path) => ({ op: "set", path, merge: true, data: { seen: { [id]: true }, at } }));
  const res = await mutate(rt, "batch", "POST", "/v1/batch", { writes }, `${rt.run}-${id}`);
  const versions = Array.isArray(res.body?.results) ? res.body.results.map((r: any) => r.version) : undefined;
  done(outcomeOf(res), versions && !versions.includes(undefined) ? { versions } : undefined, errorOf(res));
  // 409 ABORTED: it met another batch's lock (retry it, as the API says); nothing applied.
  rt.check("batch committed or aborted", res.status === 200 || res.status === 409);
}

/** `$increment` on a counter, exactly once thanks to its Idempotency-Key. */
export async function increment(rt: Runtime, L: Layout): Promise<void> {
  const seq = nextSeq(rt);
  const path = pick(rt, L.counters);
  const amount = 1 + (seq % 3);
  const key = `${rt.run}-i${rt.vu}-${seq}`;
  const done = rt.history.invoke(rt.vu, { f: "increment", path, amount, key });
  const res = await mutate(rt, "increment", "PUT", `/v1/docs/${path}?merge=true`, { n: { $increment: amount }, at: rt.now() }, key);
  done(outcomeOf(res), res.body?.version !== undefined ? { version: res.body.version } : undefined, errorOf(res));
  rt.check("increment acknowledged", res.status === 200);
}

/** GET one document (of any kind). */
export async function readDoc(rt: Runtime, path: string): Promise<DocSnap | null | undefined> {
  const done = rt.history.invoke(rt.vu, { f: "read", path });
  const res = await rt.request("read", "GET", `/v1/docs/${path}`, undefined, { headers: baseHeaders(rt), expect: [404] });
  const found = res.status === 200 ? snap(res.body) : res.status === 404 ? null : undefined;
  if (found === undefined) done("fail", undefined, errorOf(res));
  else done("ok", { doc: found });
  rt.check("read answered", found !== undefined);
  await backOff(rt, res);
  return found;
}

/** A selective query on the registers (one of four groups, at most 20). */
export async function queryRegisters(rt: Runtime, L: Layout): Promise<void> {
  const done = rt.history.invoke(rt.vu, { f: "query", collection: L.reg });
  const body = { from: { collection: L.reg }, where: ["g", "==", Math.floor(rng(rt)() * 4)], limit: 20 };
  const res = await rt.request("query", "POST", "/v1/query", body, { headers: baseHeaders(rt) });
  if (res.status === 200) done("ok", { docs: res.body.docs.map(snap) });
  else done("fail", undefined, errorOf(res));
  rt.check("query answered", res.status === 200);
  await backOff(rt, res);
}

/** No answer at all (the server is down or restarting): pause rather than spin on refused connections. */
async function backOff(rt: Runtime, res: Res) {
  if (res.status === 0) await rt.sleep(250);
}

/** Every document of a collection from the index, following `next`. */
export async function queryAll(rt: Runtime, collection: string): Promise<DocSnap[]> {
  const docs: DocSnap[] = [];
  let page: Record<string, unknown> = {};
  for (;;) {
    const res = await rt.request("query-all", "POST", "/v1/query", { from: { collection }, ...page }, { headers: baseHeaders(rt) });
    if (res.status !== 200) throw new Error(`query of ${collection}: ${errorOf(res)}`);
    docs.push(...res.body.docs.map(snap));
    if (!res.body.next) return docs;
    page = res.body.next;
  }
}
