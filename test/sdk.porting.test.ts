/**
 * The porting test: examples written as Firebase's documentation shows them
 * for the modular web SDK (Add data, Get data, Queries, Listen, Transactions,
 * Batched writes, Aggregates), run unchanged against Blaze. Only the import
 * line and the initialisation differ from the Firebase version; the
 * collection is named cities_port so no other test file's "cities" mixes in.
 */
import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";
// Firebase: import { ... } from "firebase/firestore";
import {
  arrayUnion,
  collection,
  deleteDoc,
  deleteField,
  doc,
  getCountFromServer,
  getDoc,
  getDocs,
  increment,
  limit,
  onSnapshot,
  orderBy,
  query,
  runTransaction,
  serverTimestamp,
  setDoc,
  addDoc,
  startAfter,
  Timestamp,
  updateDoc,
  where,
  writeBatch,
  initializeBlaze,
} from "blaze/sdk";

// Firebase: const db = getFirestore(initializeApp(firebaseConfig));
const db = initializeBlaze({
  url: "http://blaze.test",
  fetch: (req) => exports.default.fetch(req),
  webSocket: async (url) => {
    const res = await exports.default.fetch(new Request(url.replace(/^ws/, "http"), { headers: { Upgrade: "websocket" } }));
    res.webSocket!.accept();
    return res.webSocket as any;
  },
});

// ---- from here on, Firebase's documentation code ----

it("runs Firebase's documented examples unchanged", async () => {
  const citiesRef = collection(db, "cities_port");

  // Add data: set a document.
  await setDoc(doc(citiesRef, "SF"), {
    name: "San Francisco", state: "CA", country: "USA",
    capital: false, population: 860000,
    regions: ["west_coast", "norcal"] });
  await setDoc(doc(citiesRef, "LA"), {
    name: "Los Angeles", state: "CA", country: "USA",
    capital: false, population: 3900000,
    regions: ["west_coast", "socal"] });
  await setDoc(doc(citiesRef, "DC"), {
    name: "Washington, D.C.", state: null, country: "USA",
    capital: true, population: 680000,
    regions: ["east_coast"] });
  await setDoc(doc(citiesRef, "TOK"), {
    name: "Tokyo", state: null, country: "Japan",
    capital: true, population: 9000000,
    regions: ["kanto", "honshu"] });
  await setDoc(doc(citiesRef, "BJ"), {
    name: "Beijing", state: null, country: "China",
    capital: true, population: 21500000,
    regions: ["jingjinji", "hebei"] });

  // Data types.
  const docData = {
    stringExample: "Hello world!",
    booleanExample: true,
    numberExample: 3.14159265,
    dateExample: Timestamp.fromDate(new Date("December 10, 1815")),
    arrayExample: [5, true, "hello"],
    nullExample: null,
    objectExample: { a: 5, b: { nested: "foo" } },
  };
  await setDoc(doc(db, "cities_port_data", "one"), docData);

  // Merge.
  const cityRef = doc(db, "cities_port", "BJ");
  await setDoc(cityRef, { capital: true }, { merge: true });

  // Add a document with a generated id.
  const docRef = await addDoc(collection(db, "cities_port"), { name: "Tokyo", country: "Japan" });
  expect(docRef.id).toBeTruthy();
  await deleteDoc(docRef);

  // Update, nested fields, arrays, increment, server timestamp, delete a field.
  const washingtonRef = doc(db, "cities_port", "DC");
  await updateDoc(washingtonRef, { capital: true });
  await updateDoc(washingtonRef, { regions: arrayUnion("greater_virginia") });
  await updateDoc(washingtonRef, { population: increment(50) });
  await updateDoc(washingtonRef, { timestamp: serverTimestamp() });
  await updateDoc(washingtonRef, { timestamp: deleteField() });

  // Get a document.
  const docSnap = await getDoc(doc(db, "cities_port", "DC"));
  expect(docSnap.exists()).toBe(true);
  expect(docSnap.data()).toMatchObject({ population: 680050, regions: ["east_coast", "greater_virginia"] });
  expect(docSnap.data()!.timestamp).toBeUndefined();

  // Get multiple documents from a collection.
  const q = query(collection(db, "cities_port"), where("capital", "==", true));
  const querySnapshot = await getDocs(q);
  const capitals: string[] = [];
  querySnapshot.forEach((doc) => {
    capitals.push(doc.id);
  });
  expect(capitals).toEqual(["BJ", "DC", "TOK"]);

  // Simple and compound queries, order and limit, cursors.
  expect((await getDocs(query(citiesRef, where("state", "==", "CA")))).size).toBe(2);
  expect((await getDocs(query(citiesRef, where("population", "<", 100000)))).empty).toBe(true);
  expect((await getDocs(query(citiesRef, where("regions", "array-contains", "west_coast")))).size).toBe(2);
  expect((await getDocs(query(citiesRef, where("country", "in", ["USA", "Japan"])))).size).toBe(4);
  const first = query(collection(db, "cities_port"), orderBy("population"), limit(2));
  const documentSnapshots = await getDocs(first);
  const lastVisible = documentSnapshots.docs[documentSnapshots.docs.length - 1];
  const next = query(collection(db, "cities_port"), orderBy("population"), startAfter(lastVisible), limit(2));
  expect((await getDocs(next)).docs.map((d) => d.id)).toEqual(["LA", "TOK"]);

  // Count.
  const snapshot = await getCountFromServer(query(citiesRef, where("capital", "==", true)));
  expect(snapshot.data().count).toBe(3);

  // Listen to a document and to a query, with docChanges.
  const seen: string[] = [];
  const unsub = onSnapshot(doc(db, "cities_port", "SF"), (doc) => {
    seen.push(`${doc.data()!.population}`);
  });
  const changes: string[] = [];
  let californians: string[] = [];
  const unsubscribe = onSnapshot(query(collection(db, "cities_port"), where("state", "==", "CA")), (snapshot) => {
    californians = snapshot.docs.map((d) => `${d.id} ${d.data().population}`);
    snapshot.docChanges().forEach((change) => {
      changes.push(`${change.type} ${change.doc.id}`);
    });
  });
  await waitFor(() => seen.length === 1 && changes.length === 2);
  expect(changes).toEqual(["added LA", "added SF"]);

  // Transaction.
  const sfDocRef = doc(db, "cities_port", "SF");
  await runTransaction(db, async (transaction) => {
    const sfDoc = await transaction.get(sfDocRef);
    if (!sfDoc.exists()) {
      throw "Document does not exist!";
    }
    const newPopulation = sfDoc.data().population + 1;
    transaction.update(sfDocRef, { population: newPopulation });
  });

  // Batched writes.
  const batch = writeBatch(db);
  const nycRef = doc(db, "cities_port", "NYC");
  batch.set(nycRef, { name: "New York City", state: "NY" });
  const sfRef = doc(db, "cities_port", "SF");
  batch.update(sfRef, { population: 1000000 });
  const laRef = doc(db, "cities_port", "LA");
  batch.delete(laRef);
  await batch.commit();

  await waitFor(() => seen.length === 3 && californians.join() === "SF 1000000");
  expect(seen).toEqual(["860000", "860001", "1000000"]);
  // A query listener hears of writes as the index applies them, so changes
  // that land in one index batch may come as one modification.
  expect(changes.slice(0, 2)).toEqual(["added LA", "added SF"]);
  expect(changes).toContain("removed LA");
  expect(changes).toContain("modified SF");
  unsub();
  unsubscribe();
}, 30_000);

// ---- end of Firebase's code ----

async function waitFor(cond: () => boolean, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}
