/**
 * Latency compensation against the real Worker: a write shows in this
 * client's listeners before the server answers (hasPendingWrites), is then
 * confirmed, or, refused by the rules, rolled back while its promise rejects.
 * Writes are held at a gate in front of the Worker, so "before the server
 * answers" is a fact of the test, not a race.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  Timestamp,
  arrayUnion,
  collection,
  deleteField,
  doc,
  getDocs,
  increment,
  initializeBlaze,
  limit,
  onSnapshot,
  orderBy,
  query,
  serverTimestamp,
  setDoc,
  terminate,
  updateDoc,
  where,
  writeBatch,
  type DocumentSnapshot,
  type QuerySnapshot,
  type SocketLike,
} from "blaze/sdk";
import { BASE, eventually, seed } from "./helpers";
import { collector } from "./sdk-helpers";

/** A database over the Worker whose mutations wait at `gate` while it is closed (reads and the socket pass). */
function open() {
  const waiting: (() => void)[] = [];
  const gate = {
    closed: false,
    get held() {
      return waiting.length;
    },
    close: () => void (gate.closed = true),
    open: () => {
      gate.closed = false;
      waiting.splice(0).forEach((go) => go());
    },
  };
  const isMutation = (req: Request) => req.method !== "GET" && new URL(req.url).pathname !== "/v1/query";
  const db = initializeBlaze({
    url: BASE,
    listenIdleMs: 50,
    fetch: async (req) => {
      if (gate.closed && isMutation(req)) await new Promise<void>((go) => waiting.push(go));
      return exports.default.fetch(req);
    },
    webSocket: async (url) => {
      const res = await exports.default.fetch(new Request(url.replace(/^ws/, "http"), { headers: { Upgrade: "websocket" } }));
      res.webSocket!.accept();
      return res.webSocket as unknown as SocketLike;
    },
  });
  return { db, gate };
}


const ids = (s: QuerySnapshot<any>) => s.docs.map((d) => d.id);
const changes = (s: QuerySnapshot<any>, includeMetadataChanges = false) =>
  s.docChanges({ includeMetadataChanges }).map((c) => `${c.type} ${c.doc.id} ${c.oldIndex}>${c.newIndex}`);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("sdk: latency compensation", () => {
  it("a write shows in a matching query listener before the server answers, with hasPendingWrites, then is confirmed", async () => {
    await seed({ "lat1/a": { n: 1 }, "lat1/b": { n: 3 } });
    const { db, gate } = open();
    const q = query(collection(db, "lat1"), where("n", ">", 0), orderBy("n"));
    const meta = collector<QuerySnapshot>();
    const plain = collector<QuerySnapshot>();
    onSnapshot(q, { includeMetadataChanges: true }, meta.onNext, meta.onError);
    onSnapshot(q, plain.onNext, plain.onError);
    const first = await meta.next();
    expect(ids(first)).toEqual(["a", "b"]);
    expect(first.metadata.hasPendingWrites).toBe(false);
    await plain.next();

    gate.close();
    const write = setDoc(doc(db, "lat1/c"), { n: 2, at: serverTimestamp() });
    const local = await meta.next();
    expect(gate.held).toBe(1); // the server has not seen the write yet
    expect(ids(local)).toEqual(["a", "c", "b"]);
    expect(changes(local)).toEqual(["added c -1>1"]);
    expect(local.metadata.hasPendingWrites).toBe(true);
    const c = local.docs[1];
    expect(c.metadata.hasPendingWrites).toBe(true);
    expect(local.docs[0].metadata.hasPendingWrites).toBe(false);
    // serverTimestamp(): null by default, as in Firebase; the local estimate or the previous value on request.
    expect(c.data()).toEqual({ n: 2, at: null });
    expect(c.data({ serverTimestamps: "estimate" }).at).toBeInstanceOf(Timestamp);
    expect(c.get("at", { serverTimestamps: "previous" })).toBeNull();
    expect(ids(await plain.next())).toEqual(["a", "c", "b"]);

    gate.open();
    await write;
    const confirmed = await meta.next();
    expect(confirmed.metadata.hasPendingWrites).toBe(false);
    expect(ids(confirmed)).toEqual(["a", "c", "b"]);
    // The server's time replaces the estimate: a data change, as in Firebase.
    expect(changes(confirmed)).toEqual(["modified c 1>1"]);
    expect(confirmed.docs[1].data().at).toBeInstanceOf(Timestamp);
    const viaPlain = await plain.next();
    expect(viaPlain.metadata.hasPendingWrites).toBe(false);

    // A write whose confirmation changes nothing but metadata: only the listener that asked for metadata changes hears it.
    gate.close();
    const update = updateDoc(doc(db, "lat1/a"), { n: 2.5 });
    expect(changes(await meta.next())).toEqual(["modified a 0>1"]);
    expect(changes(await plain.next())).toEqual(["modified a 0>1"]);
    gate.open();
    await update;
    const onlyMeta = await meta.next();
    expect(onlyMeta.metadata.hasPendingWrites).toBe(false);
    expect(changes(onlyMeta)).toEqual([]);
    expect(changes(onlyMeta, true)).toEqual(["modified a 1>1"]);
    await pause(300);
    expect(plain.got.length).toBe(4);
    await terminate(db);
  });

  it("a document listener shows transforms applied locally, the way the server applies them", async () => {
    await seed({ "lat2/d": { n: 1, tags: ["x"], gone: true } });
    const { db, gate } = open();
    const d = collector<DocumentSnapshot>();
    onSnapshot(doc(db, "lat2/d"), d.onNext, d.onError);
    expect((await d.next()).data()).toEqual({ n: 1, tags: ["x"], gone: true });
    gate.close();
    const write = updateDoc(doc(db, "lat2/d"), { n: increment(2), tags: arrayUnion("y", "x"), gone: deleteField() });
    const local = await d.next();
    expect(local.metadata.hasPendingWrites).toBe(true);
    expect(local.data()).toEqual({ n: 3, tags: ["x", "y"] });
    gate.open();
    await write;
    await pause(300);
    expect(d.got.length).toBe(2); // the server's copy is the same data: no second snapshot without includeMetadataChanges
    await terminate(db);
  });

  it("a write the rules refuse rolls back in the listeners, and its promise rejects", async () => {
    const { db, gate } = open();
    const docs = collector<DocumentSnapshot>();
    const list = collector<QuerySnapshot>();
    onSnapshot(doc(db, "sec_public/x"), { includeMetadataChanges: true }, docs.onNext, docs.onError);
    onSnapshot(query(collection(db, "sec_public"), where("n", "==", 41)), list.onNext, list.onError);
    expect((await docs.next()).exists()).toBe(false);
    expect(ids(await list.next())).toEqual([]);

    gate.close();
    const write = setDoc(doc(db, "sec_public/x"), { n: 41 });
    const shown = await docs.next();
    expect(shown.exists()).toBe(true);
    expect(shown.metadata.hasPendingWrites).toBe(true);
    expect(changes(await list.next())).toEqual(["added x -1>0"]);
    gate.open();
    await expect(write).rejects.toMatchObject({ code: "permission-denied", name: "FirebaseError" });
    const back = await docs.next();
    expect(back.exists()).toBe(false);
    expect(back.metadata.hasPendingWrites).toBe(false);
    const rolled = await list.next();
    expect(changes(rolled)).toEqual(["removed x 0>-1"]);
    expect(rolled.metadata.hasPendingWrites).toBe(false);
    await terminate(db);
  });

  it("a batch shows all at once and rolls back all at once when one write is refused", async () => {
    await seed({ "lat3/a": { n: 1 } });
    const { db, gate } = open();
    const s = collector<QuerySnapshot>();
    onSnapshot(query(collection(db, "lat3"), orderBy("n")), s.onNext, s.onError);
    expect(ids(await s.next())).toEqual(["a"]);
    gate.close();
    const batch = writeBatch(db);
    batch.set(doc(db, "lat3/b"), { n: 2 });
    batch.update(doc(db, "lat3/a"), { n: 3 });
    batch.set(doc(db, "sec_public/y"), { n: 1 }); // refused: the whole batch fails
    const commit = batch.commit();
    const local = await s.next();
    expect(ids(local)).toEqual(["b", "a"]);
    expect(local.metadata.hasPendingWrites).toBe(true);
    gate.open();
    await expect(commit).rejects.toMatchObject({ code: "permission-denied" });
    const back = await s.next();
    expect(ids(back)).toEqual(["a"]);
    expect(back.docs[0].data()).toEqual({ n: 1 });
    expect(back.metadata.hasPendingWrites).toBe(false);
    await terminate(db);
  });

  it("a limit window keeps its order and size with pending writes, and ends as the server's answer", async () => {
    await seed({ "lat4/a": { n: 1 }, "lat4/b": { n: 2 }, "lat4/c": { n: 3 }, "lat4/d": { n: 4 }, "lat4/e": { n: 5 } });
    const { db, gate } = open();
    const q = query(collection(db, "lat4"), orderBy("n", "desc"), limit(3));
    const s = collector<QuerySnapshot>();
    onSnapshot(q, { includeMetadataChanges: true }, s.onNext, s.onError);
    const shown = ids(await s.next());
    expect(shown).toEqual(["e", "d", "c"]);
    /** Each snapshot's docChanges must turn the previous docs into its docs. */
    const follow = (snap: QuerySnapshot) => {
      for (const ch of snap.docChanges()) {
        if (ch.oldIndex >= 0) shown.splice(ch.oldIndex, 1);
        if (ch.newIndex >= 0) shown.splice(ch.newIndex, 0, ch.doc.id);
      }
      expect(shown).toEqual(ids(snap));
      return snap;
    };

    gate.close();
    const writes = [setDoc(doc(db, "lat4/f"), { n: 4.5 })];
    let snap = follow(await s.next());
    expect(ids(snap)).toEqual(["e", "f", "d"]); // f sorts into the full window and pushes c out
    expect(snap.docs.map((d) => d.metadata.hasPendingWrites)).toEqual([false, true, false]);
    // c, pushed out locally but still in the server's answer, comes back on top with its local value.
    writes.push(updateDoc(doc(db, "lat4/c"), { n: increment(10) }));
    snap = follow(await s.next());
    expect(ids(snap)).toEqual(["c", "e", "f"]);
    expect(snap.docs[0].data()).toEqual({ n: 13 });

    gate.open();
    await Promise.all(writes);
    const server = ids(await getDocs(q));
    expect(server).toEqual(["c", "e", "f"]);
    await eventually(async () => s.got.at(-1)!.metadata.hasPendingWrites === false);
    for (const later of s.got.slice(3)) follow(later);
    expect(ids(s.got.at(-1)!)).toEqual(server);
    await terminate(db);
  });
});
