/** The SDK's pure parts: values both ways, query bodies, writes, errors, result diffs. No server. */
import { describe, expect, it } from "vitest";
import {
  Bytes,
  BlazeError,
  FieldPath,
  FirestoreError,
  GeoPoint,
  Timestamp,
  and,
  arrayRemove,
  arrayUnion,
  collection,
  collectionGroup,
  deleteField,
  doc,
  documentId,
  endAt,
  endBefore,
  increment,
  initializeBlaze,
  limit,
  limitToLast,
  or,
  orderBy,
  query,
  queryEqual,
  refEqual,
  serverTimestamp,
  startAfter,
  startAt,
  where,
  withSchema,
  setDoc,
} from "blaze/sdk";
import { queryBody } from "./query";
import { fromWire, toWire } from "./wire";
import { firestoreCode, fromErrorBody } from "./errors";
import { setWrites, updateWrite } from "./writes";
import { diffResults } from "./listen";
import { DocumentSnapshot } from "./snapshot";

const db = initializeBlaze({ url: "http://blaze.test" });
const data = (v: unknown) => toWire(v, { method: "test", sentinels: true });

describe("values to the wire and back", () => {
  it("round-trips every type", () => {
    const ts = new Timestamp(1714557600, 123456000);
    const js = {
      nul: null,
      t: true,
      n: 1.5,
      i: -7,
      nan: NaN,
      inf: Infinity,
      ninf: -Infinity,
      nz: -0,
      s: "x",
      ts,
      bytes: Bytes.fromUint8Array(new Uint8Array([0, 1, 255])),
      ref: doc(db, "users/alice"),
      geo: new GeoPoint(59.9, 10.7),
      arr: [1, "a", [2]],
      map: { a: { b: 1 } },
    };
    const wire = data(js) as Record<string, unknown>;
    expect(wire).toEqual({
      nul: null,
      t: true,
      n: 1.5,
      i: -7,
      nan: { $double: "NaN" },
      inf: { $double: "Infinity" },
      ninf: { $double: "-Infinity" },
      nz: { $double: "-0" },
      s: "x",
      ts: { $timestamp: "2024-05-01T10:00:00.123456000Z" },
      bytes: { $bytes: "AAH/" },
      ref: { $ref: "users/alice" },
      geo: { $geo: { latitude: 59.9, longitude: 10.7 } },
      arr: [1, "a", [2]],
      map: { a: { b: 1 } },
    });
    // Through JSON, as on the network.
    const back = fromWire(JSON.parse(JSON.stringify(wire)), db) as Record<string, any>;
    expect(back.nan).toBeNaN();
    expect(back.inf).toBe(Infinity);
    expect(back.ninf).toBe(-Infinity);
    expect(Object.is(back.nz, -0)).toBe(true);
    expect(back.ts).toBeInstanceOf(Timestamp);
    expect(back.ts.isEqual(ts)).toBe(true);
    expect(back.bytes.toUint8Array()).toEqual(new Uint8Array([0, 1, 255]));
    expect(back.ref.path).toBe("users/alice");
    expect(refEqual(back.ref, doc(db, "users", "alice"))).toBe(true);
    expect(back.geo.isEqual(new GeoPoint(59.9, 10.7))).toBe(true);
    expect(back.map).toEqual({ a: { b: 1 } });
  });

  it("keeps microseconds, drops finer nanoseconds, and takes Dates", () => {
    expect(data({ t: new Timestamp(0, 123456789) })).toEqual({ t: { $timestamp: "1970-01-01T00:00:00.123456000Z" } });
    expect(data({ d: new Date("2024-01-02T03:04:05.678Z") })).toEqual({ d: { $timestamp: "2024-01-02T03:04:05.678000000Z" } });
    const t = Timestamp.fromMillis(1500.5);
    expect([t.seconds, t.nanoseconds]).toEqual([1, 500_500_000]);
    expect(Timestamp.fromDate(new Date(-1)).toMillis()).toBe(-1);
    expect(new Timestamp(1, 0) < new Timestamp(2, 0)).toBe(true);
  });

  it("turns sentinels into transforms", () => {
    expect(
      data({ a: increment(2), b: serverTimestamp(), c: arrayUnion(1, new Timestamp(0, 0)), d: arrayRemove("x"), e: deleteField(), f: increment(NaN) }),
    ).toEqual({
      a: { $increment: 2 },
      b: { $serverTimestamp: true },
      c: { $arrayUnion: [1, { $timestamp: "1970-01-01T00:00:00.000000000Z" }] },
      d: { $arrayRemove: ["x"] },
      e: { $delete: true },
      f: { $increment: { $double: "NaN" } },
    });
  });

  it("refuses what Firestore refuses", () => {
    expect(() => data({ a: undefined })).toThrow(/undefined \(found in field a\)/);
    expect(() => data({ a: [increment(1)] })).toThrow(/inside arrays/);
    expect(() => toWire(increment(1), { method: "where", sentinels: false })).toThrow(/can only be used/);
    expect(() => data({ a: new (class Foo {})() })).toThrow(/custom Foo object/);
    expect(() => data({ a: () => 1 })).toThrow(BlazeError);
    expect(toWire({ a: undefined, b: 1 }, { method: "x", sentinels: true, ignoreUndefined: true })).toEqual({ b: 1 });
    expect(() => new GeoPoint(91, 0)).toThrow(/Latitude/);
    expect(() => new Timestamp(0, 1e9)).toThrow(/nanoseconds/);
  });
});

describe("references", () => {
  it("builds paths like Firebase", () => {
    const users = collection(db, "users");
    expect(doc(users, "alice").path).toBe("users/alice");
    expect(doc(db, "users", "alice", "posts/p1").path).toBe("users/alice/posts/p1");
    expect(collection(doc(db, "users/alice"), "posts").path).toBe("users/alice/posts");
    expect(doc(users).id).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(doc(users, "a").parent.path).toBe("users");
    expect(users.parent).toBeNull();
    expect(() => doc(db, "users")).toThrow(/even number/);
    expect(() => collection(db, "users/alice")).toThrow(/odd number/);
    expect(() => collectionGroup(db, "a/b")).toThrow(/must not contain/);
    try {
      doc(db, "users//x");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FirestoreError);
      expect((e as BlazeError).code).toBe("invalid-argument");
    }
  });
});

describe("query bodies (POST /v1/query)", () => {
  const users = collection(db, "users");
  it("writes filters, order, limits and cursors", () => {
    const q = query(users, where("age", ">=", 18), where("address.city", "in", ["Oslo", "Rome"]), orderBy("age", "desc"), limit(10), startAfter(42));
    expect(queryBody(q._state)).toEqual({
      from: { collection: "users" },
      where: { and: [["age", ">=", 18], ["address.city", "in", ["Oslo", "Rome"]]] },
      orderBy: [["age", "desc"]],
      limit: 10,
      startAfter: [42],
    });
  });
  it("nests and / or, quotes field names, and takes documentId()", () => {
    const q = query(
      collectionGroup(db, "posts"),
      or(where("a-b", "==", 1), and(where(new FieldPath("x.y", "z"), "!=", null), where(documentId(), "==", doc(db, "u/a/posts/p")))),
    );
    expect(queryBody(q._state)).toEqual({
      from: { collectionGroup: "posts" },
      where: { or: [["`a-b`", "==", 1], { and: [["`x.y`.z", "!=", null], ["__name__", "==", { $ref: "u/a/posts/p" }]] }] },
    });
  });
  it("lets the later limit win and keeps one start and one end", () => {
    const q = query(users, orderBy("n"), limit(5), limitToLast(3), startAt(1), startAfter(2), endAt(9), endBefore(NaN));
    expect(queryBody(q._state)).toEqual({
      from: { collection: "users" },
      orderBy: [["n", "asc"]],
      limitToLast: 3,
      startAfter: [2],
      endBefore: [{ $double: "NaN" }],
    });
  });
  it("reads cursors from a snapshot along the resolved order", () => {
    const snap = new DocumentSnapshot(doc(db, "users/alice"), {
      path: "users/alice",
      id: "alice",
      data: { age: 30, city: "Oslo" },
      version: 1,
      createTime: "",
      updateTime: "",
    });
    // orderBy city, then the inequality field age (implicit), then __name__.
    const q = query(users, where("age", ">", 18), orderBy("city", "desc"), startAfter(snap));
    expect(queryBody(q._state).startAfter).toEqual(["Oslo", 30, { $ref: "users/alice" }]);
    expect(() => query(users, orderBy("missing"), startAt(snap))).toThrow(/does not exist/);
    expect(() => query(users, startAt(new DocumentSnapshot(doc(db, "users/x"), null)))).toThrow(/doesn't exist/);
  });
  it("compares queries", () => {
    expect(queryEqual(query(users, where("a", "==", 1)), query(users, where("a", "==", 1)))).toBe(true);
    expect(queryEqual(query(users, where("a", "==", 1)), query(users, where("a", "==", 2)))).toBe(false);
    expect(() => where("a", "like" as never, 1)).toThrow(/Unsupported operator/);
    expect(() => limit(0)).toThrow(/positive/);
  });
});

describe("writes", () => {
  const ref = doc(db, "users/alice");
  it("set, merge, mergeFields", () => {
    expect(setWrites(ref, { a: 1 }, undefined, "setDoc")).toEqual([{ op: "set", path: "users/alice", data: { a: 1 } }]);
    expect(setWrites(ref, { a: 1 }, { merge: true }, "setDoc")).toEqual([{ op: "set", path: "users/alice", data: { a: 1 }, merge: true }]);
    expect(setWrites(ref, { a: { x: 1 }, b: 2, c: { d: 3, e: 4 } }, { mergeFields: ["a", "c.d"] }, "setDoc")).toEqual([
      { op: "set", path: "users/alice", data: { a: {} }, merge: true },
      { op: "set", path: "users/alice", data: { a: { x: 1 }, c: { d: 3 } }, merge: true },
    ]);
    expect(() => setWrites(ref, { a: 1 }, { mergeFields: ["b"] }, "setDoc")).toThrow(/missing from your input/);
  });
  it("update with an object, pairs and FieldPaths", () => {
    expect(updateWrite(ref, [{ "a.b": 1, c: increment(1) }], "updateDoc")).toEqual({ op: "update", path: "users/alice", data: { "a.b": 1, c: { $increment: 1 } } });
    expect(updateWrite(ref, ["a.b", 1, new FieldPath("x.y"), deleteField()], "updateDoc")).toEqual({
      op: "update",
      path: "users/alice",
      data: { "a.b": 1, "`x.y`": { $delete: true } },
    });
    expect(() => updateWrite(ref, ["a", 1, "b"], "updateDoc")).toThrow(/as many values/);
  });
});

describe("withSchema", () => {
  it("refuses a write that does not match before sending it, checks merges against partial()", async () => {
    const { z } = await import("zod");
    const User = z.object({ name: z.string(), age: z.number().int().min(0) });
    const sent: Request[] = [];
    const local = initializeBlaze({ url: "http://blaze.test", fetch: async (r) => (sent.push(r), Response.json({ path: "users/a", version: 1, updateTime: "", token: "1:1" })) });
    const users = collection(local, "users").withConverter(withSchema(User));
    await expect(setDoc(doc(users, "a"), { name: "A", age: -1 })).rejects.toMatchObject({ code: "invalid-argument", details: { issues: [{ path: ["age"] }] } });
    await expect(setDoc(doc(users, "a"), { name: 5 } as never, { merge: true })).rejects.toMatchObject({ code: "invalid-argument" });
    expect(sent.length).toBe(0);
    await setDoc(doc(users, "a"), { age: 3 } as never, { merge: true });
    await setDoc(doc(users, "a"), { name: "A", age: 3, extra: true } as never);
    expect(await Promise.all(sent.map((r) => r.json()))).toEqual([{ age: 3 }, { name: "A", age: 3 }]); // zod strips unknown keys
  });
});

describe("errors", () => {
  it("maps Blaze codes to Firestore codes", () => {
    const pairs = {
      INVALID_ARGUMENT: "invalid-argument",
      UNAUTHENTICATED: "unauthenticated",
      PERMISSION_DENIED: "permission-denied",
      NOT_FOUND: "not-found",
      ALREADY_EXISTS: "already-exists",
      ABORTED: "aborted",
      FAILED_PRECONDITION: "failed-precondition",
      PAYLOAD_TOO_LARGE: "invalid-argument",
      RESOURCE_EXHAUSTED: "resource-exhausted",
      INTERNAL: "internal",
      UNAVAILABLE: "unavailable",
      SOMETHING_NEW: "unknown",
    };
    for (const [blaze, fs] of Object.entries(pairs)) expect(firestoreCode(blaze)).toBe(fs);
  });
  it("keeps the message, the details and Firebase's shape", () => {
    const e = fromErrorBody({ code: "FAILED_PRECONDITION", message: "needs an index", details: { index: {} } }, 412);
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(BlazeError);
    expect(BlazeError).toBe(FirestoreError);
    expect([e.code, e.message, e.name, e.blazeCode, e.details]).toEqual(["failed-precondition", "needs an index", "FirebaseError", "FAILED_PRECONDITION", { index: {} }]);
    expect(fromErrorBody(undefined, 503).code).toBe("unavailable");
    expect(fromErrorBody(undefined, 500).code).toBe("internal");
  });
});

describe("diffing a re-listened query", () => {
  const d = (path: string, version = 1) => ({ path, id: path, data: {}, version, createTime: "", updateTime: "" });
  const apply = (before: ReturnType<typeof d>[], changes: ReturnType<typeof diffResults>) => {
    const out = before.slice();
    for (const c of changes) {
      if (c.type === "removed") out.splice(c.oldIndex, 1);
      else {
        if (c.type === "modified") out.splice(c.oldIndex, 1);
        out.splice(c.newIndex, 0, c.doc);
      }
    }
    return out;
  };
  it("gives changes that turn the old result into the new", () => {
    const before = [d("a"), d("b"), d("c"), d("d"), d("e")];
    const after = [d("e"), d("b", 2), d("x"), d("c")];
    const changes = diffResults(before, after);
    expect(apply(before, changes).map((x) => `${x.path}${x.version}`)).toEqual(["e1", "b2", "x1", "c1"]);
    expect(changes.filter((c) => c.type === "removed").map((c) => [c.doc.path, c.oldIndex])).toEqual([["a", 0], ["d", 2]]);
    expect(diffResults(after, after)).toEqual([]);
  });
  it("lists content changes, not the documents they move past (as Firestore does)", () => {
    const before = [d("a"), d("b"), d("c")];
    expect(diffResults(before, [d("b"), d("c"), d("a", 2)]).map((c) => `${c.type} ${c.doc.path} ${c.oldIndex}>${c.newIndex}`)).toEqual(["modified a 0>2"]);
    expect(diffResults(before, [d("c", 2), d("a"), d("b")]).map((c) => `${c.type} ${c.doc.path} ${c.oldIndex}>${c.newIndex}`)).toEqual(["modified c 2>0"]);
  });
  it("puts a document whose only change is hasPendingWrites in `meta`", () => {
    const local = { ...d("b"), pending: true as const, estimates: [] };
    const meta: ReturnType<typeof diffResults> = [];
    expect(diffResults([d("a"), local], [d("a"), d("b", 2)], meta)).toEqual([]);
    expect(meta.map((c) => `${c.type} ${c.doc.path} ${c.oldIndex}>${c.newIndex}`)).toEqual(["modified b 1>1"]);
  });
  it("holds on random results", () => {
    for (let n = 0; n < 200; n++) {
      const pick = () => ["a", "b", "c", "d", "e", "f", "g"].filter(() => Math.random() < 0.5).sort(() => Math.random() - 0.5).map((p) => d(p, 1 + Math.floor(Math.random() * 2)));
      const before = pick();
      const after = pick();
      expect(apply(before, diffResults(before, after))).toEqual(after);
    }
  });
});

describe("what the SDK imports", () => {
  it("is engine/core and itself, never zod or the rest of the engine", async () => {
    const { readdirSync, readFileSync } = await import("node:fs");
    const dir = new URL(".", import.meta.url);
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts") && !n.endsWith(".test.ts"))) {
      const src = readFileSync(new URL(f, dir), "utf8");
      for (const m of src.matchAll(/^(import|export)( type)? [^;]*? from "([^"]+)";/gms)) {
        const [, , typeOnly, spec] = m;
        expect(spec.startsWith("./") || spec.startsWith("../engine/core/"), `${f}: ${spec}`).toBe(true);
        // ast.ts validates with zod: types only from there.
        if (spec.endsWith("/query/ast")) expect(typeOnly, `${f}: ${spec}`).toBe(" type");
      }
    }
  });
});
