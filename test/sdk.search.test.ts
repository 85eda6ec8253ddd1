/**
 * The SDK's search() constraint against the real Worker: getDocs in
 * relevance order, with filters, fields and modes; a query listener on a
 * search (documents that start or stop matching enter or leave, in
 * document-name order); the errors. The collection id "tasks" has a search
 * index on title (blaze.indexes.json).
 */
import { describe, expect, it } from "vitest";
import {
  collection, deleteDoc, doc, getDocs, onSnapshot, orderBy, query, search, setDoc, startAfter, terminate, updateDoc, where, type BlazeError, type QuerySnapshot,
} from "blaze/sdk";
import { collector, open } from "./sdk-helpers";

const ids = (s: QuerySnapshot<any>) => s.docs.map((d) => d.id);
const changes = (s: QuerySnapshot<any>) => s.docChanges().map((c) => `${c.type} ${c.doc.id}`);

describe("sdk: search", () => {
  it("getDocs: best matches first, combined with where, fields and modes; orderBy pages with cursors", async () => {
    const { db } = open();
    const tasks = collection(db, "sdksearch/b/tasks");
    await setDoc(doc(tasks, "long"), { title: "ship the release notes and the blog post today", status: "open", n: 1 });
    await setDoc(doc(tasks, "short"), { title: "Ship it", status: "open", n: 2 });
    await setDoc(doc(tasks, "other"), { title: "shipping costs", status: "done", n: 3 });
    expect(ids(await getDocs(query(tasks, search("ship"))))).toEqual(["short", "long"]);
    expect(ids(await getDocs(query(tasks, search("ship", { mode: "prefix", fields: ["title"] }), where("status", "==", "open"))))).toEqual(["short", "long"]);
    expect(ids(await getDocs(query(tasks, search("ship", { mode: "prefix" }), orderBy("n", "desc"))))).toEqual(["other", "short", "long"]);
    expect(ids(await getDocs(query(tasks, search("release notes", { mode: "phrase" }))))).toEqual(["long"]);
    expect(ids(await getDocs(query(tasks, search("ship", { mode: "prefix" }), orderBy("n"), startAfter(1))))).toEqual(["short", "other"]);
    await terminate(db);
  });

  it("refuses what the server refuses, with its code", async () => {
    const { db } = open();
    const tasks = collection(db, "sdksearch_err/b/tasks");
    await expect(getDocs(query(tasks, search("x", { fields: ["owner"] })))).rejects.toMatchObject({ code: "failed-precondition" } satisfies Partial<BlazeError>);
    await expect(getDocs(query(tasks, search("x"), startAfter("a")))).rejects.toMatchObject({ code: "invalid-argument" } satisfies Partial<BlazeError>);
    expect(() => search("x", { mode: "fuzzy" as never })).toThrow(/invalid mode 'fuzzy'/);
    await terminate(db);
  });

  it("onSnapshot: a document that starts or stops matching enters or leaves the result (written by another client)", async () => {
    const { db } = open();
    const writer = open().db; // no pending writes here: every change comes through the live query
    const tasks = collection(db, "sdksearch_live/b/tasks");
    const w = (id: string) => doc(collection(writer, "sdksearch_live/b/tasks"), id);
    await setDoc(w("b"), { title: "Deploy friday" });
    await setDoc(w("x"), { title: "write tests" });
    const c = collector<QuerySnapshot>();
    const unsub = onSnapshot(query(tasks, search("deploy")), { next: c.onNext, error: c.onError });
    expect(ids(await c.next())).toEqual(["b"]);

    await setDoc(w("a"), { title: "deploy the demo" });
    let s = await c.next();
    expect(changes(s)).toEqual(["added a"]);
    expect(ids(s)).toEqual(["a", "b"]); // listeners order a search by document name

    await updateDoc(w("x"), { title: "deploy tests" });
    s = await c.next();
    expect(changes(s)).toEqual(["added x"]);

    await updateDoc(w("b"), { title: "postponed" });
    s = await c.next();
    expect(changes(s)).toEqual(["removed b"]);

    await deleteDoc(w("a"));
    s = await c.next();
    expect(changes(s)).toEqual(["removed a"]);
    expect(ids(s)).toEqual(["x"]);
    unsub();
    await terminate(db);
    await terminate(writer);
  });

  it("onSnapshot: the client's own write shows at once when it matches the search (latency compensation)", async () => {
    const { db } = open();
    const tasks = collection(db, "sdksearch_local/b/tasks");
    await setDoc(doc(tasks, "b"), { title: "Deploy friday" });
    const c = collector<QuerySnapshot>();
    const unsub = onSnapshot(query(tasks, search("deploy")), { next: c.onNext, error: c.onError });
    expect(ids(await c.next())).toEqual(["b"]);
    const write = setDoc(doc(tasks, "a"), { title: "Deploying? no: deploy" });
    const s = await c.next();
    expect(ids(s)).toEqual(["a", "b"]);
    expect(s.metadata.hasPendingWrites).toBe(true); // matched here, by the SDK's copy of the reference matcher
    await write;
    await setDoc(doc(tasks, "c"), { title: "not this one" });
    await new Promise((r) => setTimeout(r, 200));
    expect(c.got.every((g) => !ids(g).includes("c"))).toBe(true);
    unsub();
    await terminate(db);
  });
});
