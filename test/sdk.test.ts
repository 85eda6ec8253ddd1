/**
 * The SDK against the real Worker inside workerd: every request goes through
 * `exports.default.fetch`, the listen socket through a fetch with
 * `Upgrade: websocket`. CRUD with every value type, every query operator,
 * cursors, pages, batches, transforms, aggregates, listeners, errors.
 */
import { describe, expect, it } from "vitest";
import {
  Bytes,
  FieldPath,
  GeoPoint,
  Timestamp,
  addDoc,
  and,
  arrayRemove,
  arrayUnion,
  average,
  collection,
  collectionGroup,
  count,
  deleteDoc,
  deleteField,
  doc,
  explain,
  documentId,
  endAt,
  endBefore,
  getAggregateFromServer,
  onAggregateSnapshot,
  type AggregateQuerySnapshot,
  getCountFromServer,
  getDoc,
  getDocs,
  increment,
  initializeBlaze,
  limit,
  limitToLast,
  onSnapshot,
  or,
  orderBy,
  query,
  refEqual,
  runTransaction,
  serverTimestamp,
  setDoc,
  snapshotEqual,
  startAfter,
  startAt,
  sum,
  terminate,
  updateDoc,
  where,
  writeBatch,
  type BlazeError,
  type DocumentSnapshot,
  type FirestoreDataConverter,
  type QuerySnapshot,
} from "blaze/sdk";
import { BASE, eventually, seed } from "./helpers";
import { collector, open } from "./sdk-helpers";


const ids = (s: QuerySnapshot<any>) => s.docs.map((d) => d.id);
const changes = (s: QuerySnapshot<any>) => s.docChanges().map((c) => `${c.type} ${c.doc.id} ${c.oldIndex}>${c.newIndex}`);

describe("sdk: documents", () => {
  it("round-trips every value type", async () => {
    const { db } = open();
    const ref = doc(db, "sdkvals", "all");
    const ts = new Timestamp(1714557600, 123456789);
    await setDoc(ref, {
      nul: null,
      yes: true,
      int: 42,
      float: -1.25,
      nan: NaN,
      inf: Infinity,
      ninf: -Infinity,
      nzero: -0,
      big: Number.MAX_SAFE_INTEGER,
      str: "héllo ✓",
      ts,
      date: new Date("2024-01-02T03:04:05.678Z"),
      bytes: Bytes.fromUint8Array(new Uint8Array([0, 128, 255])),
      ref: doc(db, "users/alice"),
      geo: new GeoPoint(59.9, 10.7),
      arr: [1, "two", [3], { four: 4 }],
      map: { nested: { deep: [null] } },
    });
    const snap = await getDoc(ref);
    expect(snap.exists()).toBe(true);
    expect(snap.id).toBe("all");
    expect(snap.metadata.hasPendingWrites).toBe(false);
    expect(snap.metadata.fromCache).toBe(false);
    const d = snap.data()!;
    expect(d.nul).toBeNull();
    expect(d.yes).toBe(true);
    expect(d.int).toBe(42);
    expect(d.float).toBe(-1.25);
    expect(d.nan).toBeNaN();
    expect(d.inf).toBe(Infinity);
    expect(d.ninf).toBe(-Infinity);
    expect(Object.is(d.nzero, -0)).toBe(true);
    expect(d.big).toBe(Number.MAX_SAFE_INTEGER);
    expect(d.str).toBe("héllo ✓");
    // Microseconds, as the server stores them.
    expect(d.ts).toBeInstanceOf(Timestamp);
    expect([d.ts.seconds, d.ts.nanoseconds]).toEqual([1714557600, 123456000]);
    expect(d.date.toDate().toISOString()).toBe("2024-01-02T03:04:05.678Z");
    expect(d.bytes.toUint8Array()).toEqual(new Uint8Array([0, 128, 255]));
    expect(refEqual(d.ref, doc(db, "users/alice"))).toBe(true);
    expect(d.geo.isEqual(new GeoPoint(59.9, 10.7))).toBe(true);
    expect(d.arr).toEqual([1, "two", [3], { four: 4 }]);
    expect(d.map).toEqual({ nested: { deep: [null] } });
    expect(snap.get("map.nested.deep")).toEqual([null]);
    expect(snap.get(new FieldPath("map", "nested"))).toEqual({ deep: [null] });
    expect(snapshotEqual(snap, await getDoc(ref))).toBe(true);
  });

  it("gets a missing document as not existing", async () => {
    const { db } = open();
    const snap = await getDoc(doc(db, "sdkvals/nothing"));
    expect(snap.exists()).toBe(false);
    expect(snap.data()).toBeUndefined();
    expect(snap.get("a")).toBeUndefined();
  });

  it("sets, merges, updates, deletes and adds", async () => {
    const { db } = open();
    const ref = doc(db, "sdkcrud/a");
    await setDoc(ref, { name: "A", address: { city: "Oslo", zip: "0150" }, tags: ["x"] });
    await setDoc(ref, { address: { city: "Rome" }, age: 1 }, { merge: true });
    expect((await getDoc(ref)).data()).toEqual({ name: "A", address: { city: "Rome", zip: "0150" }, tags: ["x"], age: 1 });
    // mergeFields: only listed fields, each replaced whole.
    await setDoc(ref, { address: { city: "Bern" }, name: "ignored", age: 2 }, { mergeFields: ["address", "age"] });
    expect((await getDoc(ref)).data()).toEqual({ name: "A", address: { city: "Bern" }, tags: ["x"], age: 2 });
    await updateDoc(ref, { "address.zip": "3000", name: "B" });
    await updateDoc(ref, "age", 3, new FieldPath("odd.name"), true);
    expect((await getDoc(ref)).data()).toEqual({ name: "B", address: { city: "Bern", zip: "3000" }, tags: ["x"], age: 3, "odd.name": true });
    await deleteDoc(ref);
    expect((await getDoc(ref)).exists()).toBe(false);
    await deleteDoc(ref); // deleting a missing document succeeds, as in Firestore

    const added = await addDoc(collection(db, "sdkcrud"), { n: 1 });
    expect(added.id).toMatch(/^[A-Za-z0-9]{20}$/);
    expect((await getDoc(added)).data()).toEqual({ n: 1 });
  });

  it("applies transforms", async () => {
    const { db } = open();
    const ref = doc(db, "sdktx/t");
    await setDoc(ref, { n: 1, tags: ["a", "b"], gone: true });
    const before = Date.now();
    await updateDoc(ref, { n: increment(2.5), tags: arrayUnion("c", "a"), at: serverTimestamp(), gone: deleteField() });
    await updateDoc(ref, { tags: arrayRemove("b") });
    const d = (await getDoc(ref)).data()!;
    expect(d.n).toBe(3.5);
    expect(d.tags).toEqual(["a", "c"]);
    expect(d.gone).toBeUndefined();
    expect(d.at).toBeInstanceOf(Timestamp);
    expect(d.at.toMillis()).toBeGreaterThanOrEqual(before - 1000);
    await setDoc(ref, { fresh: increment(1) }, { merge: true });
    expect((await getDoc(ref)).get("fresh")).toBe(1);
  });

  it("reads and writes through a converter", async () => {
    const { db } = open();
    class City {
      constructor(
        readonly name: string,
        readonly pop: number,
      ) {}
    }
    const conv: FirestoreDataConverter<City> = {
      toFirestore: (c: City) => ({ name: c.name, population: c.pop }),
      fromFirestore: (snap: DocumentSnapshot) => {
        const d = snap.data()!;
        return new City(d.name, d.population);
      },
    };
    const cities = collection(db, "sdkconv").withConverter(conv);
    await setDoc(doc(cities, "osl"), new City("Oslo", 700_000));
    const got = (await getDoc(doc(cities, "osl"))).data()!;
    expect(got).toBeInstanceOf(City);
    expect(got.pop).toBe(700_000);
    expect((await getDoc(doc(db, "sdkconv/osl"))).data()).toEqual({ name: "Oslo", population: 700_000 });
    const all = await getDocs(query(cities, where("population", ">", 1)));
    expect(all.docs[0].data()).toBeInstanceOf(City);
  });

  it("commits a batch all or nothing", async () => {
    const { db } = open();
    await setDoc(doc(db, "sdkbatch/old"), { v: 1 });
    const b = writeBatch(db);
    b.set(doc(db, "sdkbatch/a"), { v: 1 }).update(doc(db, "sdkbatch/old"), "v", increment(1)).delete(doc(db, "sdkbatch/nope"));
    b.set(doc(db, "sdkbatch/m"), { x: { y: 1 } }, { merge: true });
    await b.commit();
    expect((await getDoc(doc(db, "sdkbatch/a"))).data()).toEqual({ v: 1 });
    expect((await getDoc(doc(db, "sdkbatch/old"))).data()).toEqual({ v: 2 });
    await expect(b.commit()).rejects.toMatchObject({ code: "failed-precondition" });

    const bad = writeBatch(db);
    bad.set(doc(db, "sdkbatch/b"), { v: 1 }).update(doc(db, "sdkbatch/missing"), { v: 1 });
    await expect(bad.commit()).rejects.toMatchObject({ code: "not-found", name: "FirebaseError" });
    expect((await getDoc(doc(db, "sdkbatch/b"))).exists()).toBe(false);
  });
});

describe("sdk: queries", () => {
  const people = {
    "sdkq/alice": { name: "Alice", age: 30, city: "Oslo", tags: ["admin"], score: 1.5 },
    "sdkq/bob": { name: "Bob", age: 25, city: "Rome", tags: ["dev"], score: NaN },
    "sdkq/carol": { name: "Carol", age: 41, city: "Oslo", tags: ["admin", "dev"] },
    "sdkq/dan": { name: "Dan", age: 17, city: "Bern", score: null },
    "sdkq/erin": { name: "Erin", age: 30, city: null, tags: [] },
  };

  /** Through the SDK: helpers.seed's JSON.stringify would turn NaN into null. */
  const seedPeople = async (db: ReturnType<typeof open>["db"]) => {
    const b = writeBatch(db);
    for (const [path, data] of Object.entries(people)) b.set(doc(db, path), data);
    await b.commit();
  };

  it("answers every operator as Firestore does", async () => {
    const { db } = open();
    await seedPeople(db);
    const c = collection(db, "sdkq");
    const run = async (...cs: Parameters<typeof query>[1][]) => ids(await getDocs(query(c, ...cs)));
    expect(await run(where("age", "==", 30))).toEqual(["alice", "erin"]);
    expect(await run(where("city", "!=", "Oslo"))).toEqual(["dan", "bob"]); // ordered by city; null and missing never match !=
    expect(await run(where("age", "<", 25))).toEqual(["dan"]);
    expect(await run(where("age", "<=", 25))).toEqual(["dan", "bob"]);
    expect(await run(where("age", ">", 30))).toEqual(["carol"]);
    expect(await run(where("age", ">=", 30))).toEqual(["alice", "erin", "carol"]);
    expect(await run(where("tags", "array-contains", "dev"))).toEqual(["bob", "carol"]);
    expect(await run(where("tags", "array-contains-any", ["admin", "x"]))).toEqual(["alice", "carol"]);
    expect(await run(where("city", "in", ["Bern", "Rome"]))).toEqual(["bob", "dan"]);
    expect(await run(where("age", "not-in", [30, 41]))).toEqual(["dan", "bob"]);
    expect(await run(where("score", "==", NaN))).toEqual(["bob"]);
    expect(await run(where("city", "==", null))).toEqual(["erin"]);
    expect(await run(where(documentId(), "in", ["alice", doc(db, "sdkq/dan")]))).toEqual(["alice", "dan"]);
    expect(await run(or(where("city", "==", "Bern"), where("tags", "array-contains", "dev")))).toEqual(["bob", "carol", "dan"]);
    expect(await run(and(where("city", "==", "Oslo"), where("tags", "array-contains", "admin")))).toEqual(["alice", "carol"]);
    expect(await run(orderBy("age", "desc"), limit(2))).toEqual(["carol", "erin"]);
    expect(await run(orderBy("age"), limitToLast(2))).toEqual(["erin", "carol"]);
    expect(await run(orderBy("age"), startAt(25), endAt(30))).toEqual(["bob", "alice", "erin"]);
    expect(await run(orderBy("age"), startAfter(25), endBefore(41))).toEqual(["alice", "erin"]);
  });

  it("pages with cursors from snapshots", async () => {
    const { db } = open();
    await seedPeople(db);
    const c = collection(db, "sdkq");
    const first = await getDocs(query(c, orderBy("age"), limit(2)));
    expect(ids(first)).toEqual(["dan", "bob"]);
    const last = first.docs[first.docs.length - 1];
    expect(ids(await getDocs(query(c, orderBy("age"), startAfter(last), limit(2))))).toEqual(["alice", "erin"]);
    // The implicit __name__ tie-break comes from the snapshot too.
    const alice = await getDoc(doc(db, "sdkq/alice"));
    expect(ids(await getDocs(query(c, orderBy("age"), startAfter(alice))))).toEqual(["erin", "carol"]);
    expect(ids(await getDocs(query(c, where("age", ">", 20), endAt(alice))))).toEqual(["bob", "alice"]);
  });

  it("queries a collection group", async () => {
    const { db } = open();
    await setDoc(doc(db, "sdkg/u1/sdkposts/p1"), { n: 1 });
    await setDoc(doc(db, "sdkg/u2/sdkposts/p2"), { n: 2 });
    await setDoc(doc(db, "sdkposts/p3"), { n: 3 });
    const snap = await getDocs(query(collectionGroup(db, "sdkposts"), where("n", ">=", 2)));
    expect(snap.docs.map((d) => d.ref.path)).toEqual(["sdkg/u2/sdkposts/p2", "sdkposts/p3"]);
    expect(snap.size).toBe(2);
    expect(snap.empty).toBe(false);
  });

  it("follows pages past 1,000 documents", async () => {
    const { db } = open();
    const docs: Record<string, { i: number }> = {};
    for (let i = 0; i < 1_234; i++) docs[`sdkpages/d${String(i).padStart(4, "0")}`] = { i };
    await seed(docs);
    const all = await getDocs(collection(db, "sdkpages"));
    expect(all.size).toBe(1_234);
    expect(all.docs.map((d) => d.get("i"))).toEqual([...Array(1_234).keys()]);
    const last = await getDocs(query(collection(db, "sdkpages"), orderBy("i"), limitToLast(1_100)));
    expect(last.size).toBe(1_100);
    expect(last.docs[0].get("i")).toBe(134);
    expect(last.docs[1_099].get("i")).toBe(1_233);
  }, 60_000);

  it("explains a query (Blaze's own)", async () => {
    const { db } = open();
    await seedPeople(db);
    const { plan, rowsRead, statements, snapshot } = await explain(query(collection(db, "sdkq"), where("age", ">=", 30), orderBy("age", "desc"), limit(2)));
    expect(snapshot.docs.map((d) => d.id)).toEqual(["carol", "erin"]);
    expect(plan).toMatchObject({ orderBy: [["age", "desc"], ["__name__", "desc"]], disjunctions: [{ rule: "single-field" }] });
    expect(rowsRead).toBeGreaterThan(0);
    expect(statements[0].sql).toMatch(/SELECT/);
  });

  it("aggregates on the server", async () => {
    const { db } = open();
    await seedPeople(db);
    const c = collection(db, "sdkq");
    expect((await getCountFromServer(c)).data().count).toBe(5);
    expect((await getCountFromServer(query(c, where("city", "==", "Oslo")))).data()).toEqual({ count: 2 });
    const agg = await getAggregateFromServer(query(c, where("age", ">", 20)), { n: count(), total: sum("age"), mean: average("age") });
    expect(agg.data()).toEqual({ n: 4, total: 126, mean: 31.5 });
    expect((await getAggregateFromServer(query(c, where("age", ">", 99)), { mean: average("age") })).data()).toEqual({ mean: null });
  });
});

describe("sdk: transactions", () => {
  it("N concurrent increments from several clients end at exactly N", async () => {
    const ref = (db: ReturnType<typeof open>["db"]) => doc(db, "sdktxn/counter");
    await setDoc(ref(open().db), { n: 0 });
    const N = 6;
    let attempts = 0;
    await Promise.all(
      Array.from({ length: N }, async () => {
        const { db } = open();
        await runTransaction(
          db,
          async (tx) => {
            attempts++;
            const snap = await tx.get(ref(db));
            tx.update(ref(db), { n: snap.get("n") + 1 });
          },
          { maxAttempts: 20 },
        );
      }),
    );
    expect((await getDoc(ref(open().db))).get("n")).toBe(N);
    expect(attempts).toBeGreaterThanOrEqual(N);
  }, 30_000);

  it("creates a document read as missing once, returns the function's value, refuses reads after writes", async () => {
    const { db } = open();
    const ref = doc(db, "sdktxn/once");
    const made = await Promise.all(
      [1, 2, 3].map((i) =>
        runTransaction(
          db,
          async (tx) => {
            const snap = await tx.get(ref);
            if (snap.exists()) return false;
            tx.set(ref, { by: i });
            return true;
          },
          { maxAttempts: 10 },
        ),
      ),
    );
    expect(made.filter(Boolean).length).toBe(1);
    await expect(
      runTransaction(db, async (tx) => {
        tx.set(ref, { x: 1 });
        await tx.get(ref);
      }),
    ).rejects.toMatchObject({ code: "invalid-argument" });
    let calls = 0;
    await expect(
      runTransaction(db, async () => {
        calls++;
        throw new Error("app error");
      }),
    ).rejects.toThrow("app error");
    expect(calls).toBe(1);
  }, 30_000);
});

describe("sdk: errors", () => {
  it("maps the server's codes to Firestore's", async () => {
    const { db } = open();
    await expect(updateDoc(doc(db, "sdkerr/missing"), { a: 1 })).rejects.toMatchObject({ code: "not-found", name: "FirebaseError" });
    await expect(setDoc(doc(db, "sdkerr/x"), { $bad: 1 })).rejects.toMatchObject({ code: "invalid-argument" });
    await expect(getDocs(query(collection(db, "sdkerr"), where("a", "==", 1), orderBy("b")))).rejects.toMatchObject({
      code: "failed-precondition",
      details: { index: { collectionGroup: "sdkerr" } },
    });
    await expect(getDocs(query(collection(db, "sdkerr"), limitToLast(1)))).rejects.toMatchObject({ code: "invalid-argument" });
    await expect(getDocs(query(collection(db, "sdkerr"), where("a", "<", null)))).rejects.toMatchObject({ code: "invalid-argument" });
    const add = addDoc(collection(db, "sdkerr"), { a: undefined });
    await expect(add).rejects.toMatchObject({ code: "invalid-argument" });
    const down = initializeBlaze({ url: BASE, fetch: async () => Promise.reject(new Error("offline")) });
    await expect(getDoc(doc(down, "a/b"))).rejects.toMatchObject({ code: "unavailable" });
    await terminate(db);
    await expect(getDoc(doc(db, "sdkerr/x"))).rejects.toMatchObject({ code: "failed-precondition" });
  });
});

describe("sdk: listeners", () => {
  it("listen to an aggregate (Blaze's own onAggregateSnapshot): values first, then when they change", async () => {
    const { db } = open();
    await setDoc(doc(db, "sdkagg/a"), { age: 30, open: true });
    const q = query(collection(db, "sdkagg"), where("open", "==", true));
    const c = collector<AggregateQuerySnapshot<any>>();
    const unsub = onAggregateSnapshot(q, { n: count(), total: sum("age"), mean: average("age") }, c.onNext, c.onError);
    expect((await c.next()).data()).toEqual({ n: 1, total: 30, mean: 30 });
    await setDoc(doc(db, "sdkagg/b"), { age: 40, open: true });
    expect((await c.next()).data()).toEqual({ n: 2, total: 70, mean: 35 });
    await setDoc(doc(db, "sdkagg/a"), { age: 30, open: false });
    expect((await c.next()).data()).toEqual({ n: 1, total: 40, mean: 40 });
    unsub();
    await terminate(db);
  });

  it("listen to a document: snapshot, changes, delete, unsubscribe", async () => {
    const { db, sockets } = open();
    const ref = doc(db, "sdklisten/doc");
    const c = collector<DocumentSnapshot>();
    const unsub = onSnapshot(ref, c.onNext, c.onError);
    expect((await c.next()).exists()).toBe(false);
    await setDoc(ref, { n: 1 });
    expect((await c.next()).data()).toEqual({ n: 1 });
    await updateDoc(ref, { n: 2 });
    expect((await c.next()).get("n")).toBe(2);
    await deleteDoc(ref);
    expect((await c.next()).exists()).toBe(false);
    unsub();
    await setDoc(ref, { n: 3 });
    await new Promise((r) => setTimeout(r, 200));
    expect(c.got.length).toBe(4);
    expect(sockets.length).toBe(1);
    await terminate(db);
  });

  it("listen to a query with docChanges in order, on the same socket as documents", async () => {
    const { db, sockets } = open();
    await setDoc(doc(db, "sdklq/a"), { n: 1 });
    await setDoc(doc(db, "sdklq/b"), { n: 5 });
    const q = query(collection(db, "sdklq"), where("n", ">", 0), orderBy("n", "desc"));
    const c = collector<QuerySnapshot>();
    const d = collector<DocumentSnapshot>();
    const unsub = onSnapshot(q, { next: c.onNext, error: c.onError });
    onSnapshot(doc(db, "sdklq/a"), { includeMetadataChanges: true }, d.onNext);
    const first = await c.next();
    expect(ids(first)).toEqual(["b", "a"]);
    expect(changes(first)).toEqual(["added b -1>0", "added a -1>1"]);
    expect(first.query).toBe(q);
    await d.next();

    await setDoc(doc(db, "sdklq/c"), { n: 3 });
    let s = await c.next();
    expect(changes(s)).toEqual(["added c -1>1"]);
    await updateDoc(doc(db, "sdklq/a"), { n: 9 });
    s = await c.next();
    expect(changes(s)).toEqual(["modified a 2>0"]);
    expect(ids(s)).toEqual(["a", "b", "c"]);
    await updateDoc(doc(db, "sdklq/b"), { n: -1 });
    s = await c.next();
    expect(changes(s)).toEqual(["removed b 1>-1"]);
    expect(s.docChanges()[0].doc.data()).toEqual({ n: 5 }); // the last state the listener saw
    expect(ids(s)).toEqual(["a", "c"]);
    expect(sockets.length).toBe(1);
    unsub();
    await setDoc(doc(db, "sdklq/z"), { n: 100 });
    await new Promise((r) => setTimeout(r, 300));
    expect(c.got.length).toBe(4);
    await terminate(db);
  });

  it("closes the socket when its last listener is gone, and opens one for the next", async () => {
    const { db, sockets } = open();
    const d = collector<DocumentSnapshot>();
    const closed: number[] = [];
    const unsub = onSnapshot(doc(db, "sdkidle/a"), d.onNext);
    await d.next();
    sockets[0].addEventListener("close", () => closed.push(0));
    unsub();
    await eventually(async () => closed.length === 1, 2000);
    const again = collector<DocumentSnapshot>();
    onSnapshot(doc(db, "sdkidle/a"), again.onNext);
    await again.next();
    expect(sockets.length).toBe(2);
    await terminate(db);
  });

  it("keeps a limit window with docChanges that edit the previous docs, through a converter", async () => {
    const { db } = open();
    for (const [id, n] of [["a", 1], ["b", 2], ["c", 3]] as const) await setDoc(doc(db, "sdkwin", id), { n });
    const conv: FirestoreDataConverter<{ n: number; tag: string }> = {
      toFirestore: (x) => ({ n: x.n }),
      fromFirestore: (snap: DocumentSnapshot) => ({ n: snap.get("n"), tag: `#${snap.id}` }),
    };
    const q = query(collection(db, "sdkwin"), orderBy("n", "desc"), limit(2)).withConverter(conv);
    const c = collector<QuerySnapshot<{ n: number; tag: string }>>();
    onSnapshot(q, c.onNext, c.onError);
    const held: string[] = [];
    const follow = (s: QuerySnapshot<any>) => {
      for (const ch of s.docChanges()) {
        if (ch.oldIndex >= 0) held.splice(ch.oldIndex, 1);
        if (ch.newIndex >= 0) held.splice(ch.newIndex, 0, ch.doc.id);
      }
      expect(held).toEqual(ids(s));
      return s;
    };
    const first = follow(await c.next());
    expect(first.docs.map((d) => d.data())).toEqual([{ n: 3, tag: "#c" }, { n: 2, tag: "#b" }]);
    await setDoc(doc(db, "sdkwin/d"), { n: 10 }); // enters at the top, pushes b out
    expect(ids(follow(await c.next()))).toEqual(["d", "c"]);
    await deleteDoc(doc(db, "sdkwin/d")); // leaves: the window refills with b
    let s = follow(await c.next());
    while (ids(s).join() !== "c,b") s = follow(await c.next());
    await terminate(db);
  });

  it("gives an invalid query listener invalid-argument", async () => {
    const { db } = open();
    const c = collector<QuerySnapshot>();
    onSnapshot(query(collection(db, "sdklerr2"), where("a", "<", null)), { next: c.onNext, error: c.onError });
    await expect(c.next()).rejects.toMatchObject({ code: "invalid-argument", name: "FirebaseError" });
    await terminate(db);
  });

  it("reports a listener's error to its error callback only", async () => {
    const { db } = open();
    const bad = collector<QuerySnapshot>();
    const good = collector<DocumentSnapshot>();
    onSnapshot(doc(db, "sdklerr/a"), good.onNext, good.onError);
    onSnapshot(query(collection(db, "sdklerr"), where("a", "==", 1), orderBy("b")), bad.onNext, bad.onError);
    await good.next();
    await expect(bad.next()).rejects.toMatchObject({ code: "failed-precondition" });
    await setDoc(doc(db, "sdklerr/a"), { v: 1 });
    expect((await good.next()).data()).toEqual({ v: 1 });
    await terminate(db);
  });

  it("resumes documents and re-listens queries after the socket drops, missing nothing", async () => {
    const { db, sockets } = open();
    await setDoc(doc(db, "sdkre/a"), { n: 1 });
    await setDoc(doc(db, "sdkre/b"), { n: 2 });
    const q = collector<QuerySnapshot>();
    const d = collector<DocumentSnapshot>();
    onSnapshot(query(collection(db, "sdkre"), orderBy("n")), q.onNext, q.onError);
    onSnapshot(doc(db, "sdkre/a"), d.onNext, d.onError);
    expect(ids(await q.next())).toEqual(["a", "b"]);
    expect((await d.next()).get("n")).toBe(1);

    sockets[0].close(1000, "test drops the socket");
    // Another client writes while the socket is down (this client's own writes would show at once, from its overlay).
    const other = open().db;
    await updateDoc(doc(other, "sdkre/a"), { n: 3 });
    await setDoc(doc(other, "sdkre/c"), { n: 0 });
    await deleteDoc(doc(other, "sdkre/b"));

    // Each snapshot a consistent edit of the previous one, whatever happened meanwhile
    // (the re-listen may land between the other client's writes).
    const follow = ["a", "b"];
    for (let s = await q.next(); ; s = await q.next()) {
      for (const ch of s.docChanges()) {
        if (ch.oldIndex >= 0) follow.splice(ch.oldIndex, 1);
        if (ch.newIndex >= 0) follow.splice(ch.newIndex, 0, ch.doc.id);
      }
      expect(follow).toEqual(ids(s));
      if (ids(s).join() === "c,a") break;
    }
    await eventually(async () => d.got.at(-1)?.get("n") === 3);
    expect(sockets.length).toBe(2);
    const seen = d.got.length;
    await updateDoc(doc(other, "sdkre/a"), { n: 4 });
    await eventually(async () => d.got.length > seen);
    expect(d.got.map((x) => x.get("n")).slice(seen)).toEqual([4]);
    expect(changes(await q.next())).toEqual(["modified a 1>1"]);
    await terminate(db);
    await terminate(other);
  }, 20_000);
});
