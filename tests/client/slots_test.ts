import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConnectionSlots, type DequeueOutcome, Slot } from "../../client/_slots.ts";
import { SluiceError } from "../../util/errors.ts";

/** Lets every pending microtask and promise callback run. */
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Takes a slot that must be free now (synchronous fast path). */
function take(slots: ConnectionSlots, key: string): Slot {
  const slot = slots.acquire(key);
  assert.ok(slot instanceof Slot, `expected a free slot for ${key}`);
  return slot;
}

/** Records the settlement order of acquires. */
function track(log: string[], name: string, result: Slot | Promise<Slot>): Promise<Slot | unknown> {
  return Promise.resolve(result).then(
    (slot) => {
      log.push(`${name}:ok`);
      return slot;
    },
    (reason: unknown) => {
      log.push(`${name}:rejected`);
      return reason;
    },
  );
}

describe("ConnectionSlots basics", () => {
  test("a free slot is returned synchronously and counted", async () => {
    const slots = new ConnectionSlots({ limit: 2 });
    const a = take(slots, "a");
    const b = take(slots, "b");
    assert.equal(a.key, "a");
    const stats = slots.stats();
    assert.equal(stats.inUse, 2);
    assert.deepEqual([...stats.inUseByKey], [["a", 1], ["b", 1]]);
    const c = slots.acquire("c");
    assert.ok(c instanceof Promise);
    slots.close();
    await assert.rejects(c);
    a.release();
    b.release();
    assert.equal(slots.stats().inUse, 0);
    assert.equal(slots.stats().inUseByKey.size, 0);
  });

  test("release() is idempotent and never frees twice", async () => {
    const slots = new ConnectionSlots({ limit: 1 });
    const a = take(slots, "k");
    const log: string[] = [];
    const b = track(log, "b", slots.acquire("k"));
    const c = track(log, "c", slots.acquire("k"));
    a.release();
    a.release();
    assert.ok(a.released);
    await tick();
    assert.deepEqual(log, ["b:ok"]);
    assert.equal(slots.stats().inUse, 1);
    assert.equal(slots.stats().waiting, 1);
    ((await b) as Slot).release();
    ((await c) as Slot).release();
    assert.equal(slots.stats().inUse, 0);
  });

  test("defaults: limit 100, limitPerHost unlimited; 0 means unlimited", async () => {
    const def = new ConnectionSlots();
    assert.equal(def.limit, 100);
    assert.equal(def.limitPerHost, Infinity);
    const held = Array.from({ length: 100 }, () => take(def, "same"));
    const waiting = def.acquire("same");
    assert.ok(waiting instanceof Promise);
    def.close();
    await assert.rejects(waiting);
    for (const slot of held) slot.release();
    const unlimited = new ConnectionSlots({ limit: 0, limitPerHost: 0 });
    for (let i = 0; i < 1000; i++) take(unlimited, "k");
    assert.equal(unlimited.stats().inUse, 1000);
  });

  test("bad limits are a RangeError, a non-string key a TypeError", () => {
    for (const bad of [-1, 1.5, NaN, "2"]) {
      assert.throws(() => new ConnectionSlots({ limit: bad as number }), RangeError);
      assert.throws(() => new ConnectionSlots({ limitPerHost: bad as number }), RangeError);
    }
    assert.equal(new ConnectionSlots({ limit: Infinity }).limit, Infinity);
    const slots = new ConnectionSlots();
    assert.throws(() => slots.acquire(1 as unknown as string), TypeError);
  });
});

describe("ConnectionSlots waiting order", () => {
  test("waiters of one key are served FIFO", async () => {
    const slots = new ConnectionSlots({ limit: 1 });
    let held = take(slots, "k");
    const log: string[] = [];
    const waits = ["w1", "w2", "w3", "w4"].map((n) => track(log, n, slots.acquire("k")));
    assert.equal(slots.stats().waiting, 4);
    for (const wait of waits) {
      held.release();
      held = (await wait) as Slot;
    }
    assert.deepEqual(log, ["w1:ok", "w2:ok", "w3:ok", "w4:ok"]);
    held.release();
    assert.deepEqual(slots.stats(), {
      inUse: 0,
      waiting: 0,
      inUseByKey: new Map(),
      waitingByKey: new Map(),
    });
  });

  test("global FIFO across keys under the total limit", async () => {
    const slots = new ConnectionSlots({ limit: 1 });
    let held = take(slots, "a");
    const log: string[] = [];
    const waits = [["c", "c1"], ["b", "b1"], ["a", "a1"], ["b", "b2"]].map(([key, name]) =>
      track(log, name, slots.acquire(key))
    );
    held.release();
    // The released slot is reserved for c1: an acquire in the same turn queues last.
    const late = slots.acquire("z");
    assert.ok(late instanceof Promise, "the released slot was stolen");
    waits.push(track(log, "z", late));
    const aborted = slots.acquire("z", AbortSignal.abort());
    await assert.rejects(Promise.resolve(aborted));
    for (const wait of waits) {
      held = (await wait) as Slot;
      held.release();
    }
    assert.deepEqual(log, ["c1:ok", "b1:ok", "a1:ok", "b2:ok", "z:ok"]);
    assert.equal(slots.stats().inUse, 0);
  });

  test("a key at its per-host limit does not hold back other keys", async () => {
    const slots = new ConnectionSlots({ limit: 2, limitPerHost: 1 });
    const a1 = take(slots, "a");
    const log: string[] = [];
    const a2 = track(log, "a2", slots.acquire("a")); // blocked by per-host
    const b1 = take(slots, "b"); // another key passes the waiting a2
    const c1 = track(log, "c1", slots.acquire("c")); // blocked by the total
    const a3 = track(log, "a3", slots.acquire("a"));
    assert.deepEqual(slots.stats().waitingByKey, new Map([["a", 2], ["c", 1]]));
    b1.release(); // a2 is older but "a" is at its limit: c1 gets it
    await tick();
    assert.deepEqual(log, ["c1:ok"]);
    a1.release(); // now a2
    await tick();
    assert.deepEqual(log, ["c1:ok", "a2:ok"]);
    ((await c1) as Slot).release(); // total has room, "a" has not: a3 still waits
    await tick();
    assert.deepEqual(log, ["c1:ok", "a2:ok"]);
    assert.equal(slots.stats().waiting, 1);
    ((await a2) as Slot).release();
    ((await a3) as Slot).release();
    assert.equal(slots.stats().inUse, 0);
    assert.equal(slots.stats().waiting, 0);
  });
});

describe("ConnectionSlots cancellation", () => {
  test("an already aborted signal rejects with its reason and queues nothing", async () => {
    let queued = 0;
    const slots = new ConnectionSlots({ limit: 1, onQueued: () => queued++ });
    const reason = new Error("gone");
    await assert.rejects(Promise.resolve(slots.acquire("k", AbortSignal.abort(reason))), reason);
    assert.equal(slots.stats().inUse, 0);
    assert.equal(queued, 0);
  });

  test("an aborted waiter leaves the queue and rejects with the signal's reason", async () => {
    const slots = new ConnectionSlots({ limit: 1 });
    const held = take(slots, "k");
    const ctrl = new AbortController();
    const wait = slots.acquire("k", ctrl.signal);
    const reason = new Error("timed out");
    ctrl.abort(reason);
    await assert.rejects(Promise.resolve(wait), reason);
    assert.equal(slots.stats().waiting, 0);
    held.release();
    assert.equal(slots.stats().inUse, 0);
  });

  // aiohttp's deadlock: limit 1, waiter A times out just as B queues; the
  // release must still wake B. Every interleaving within one turn.
  const orders = [
    ["abortA", "queueB", "release"],
    ["queueB", "abortA", "release"],
    ["queueB", "release", "abortA"],
    ["release", "abortA", "queueB"],
    ["release", "queueB", "abortA"],
  ];
  for (const order of orders) {
    test(`the aiohttp deadlock: ${order.join(", ")} in one turn still wakes B`, async () => {
      const slots = new ConnectionSlots({ limit: 1 });
      const holder = take(slots, "k");
      const ctrlA = new AbortController();
      const timeout = new Error("pool wait timed out");
      const log: string[] = [];
      const a = track(log, "A", slots.acquire("k", ctrlA.signal));
      let b: Promise<unknown> | undefined;
      for (const step of order) {
        if (step === "abortA") ctrlA.abort(timeout);
        if (step === "queueB") {
          b = track(log, "B", slots.acquire("k", new AbortController().signal));
        }
        if (step === "release") holder.release();
      }
      const bSlot = await Promise.race([
        b!,
        new Promise((_, reject) => setTimeout(() => reject(new Error("B never woke")), 1000)),
      ]);
      assert.ok(bSlot instanceof Slot);
      assert.equal(await a, timeout);
      assert.deepEqual(log.sort(), ["A:rejected", "B:ok"]);
      assert.equal(slots.stats().inUse, 1);
      bSlot.release();
      assert.equal(slots.stats().inUse, 0);
      assert.equal(slots.stats().waiting, 0);
    });
  }

  test("a waiter handed a slot and aborted in the same turn gives it back", async () => {
    const slots = new ConnectionSlots({ limit: 1 });
    const holder = take(slots, "k");
    const ctrl = new AbortController();
    const reason = new Error("aborted");
    const a = slots.acquire("k", ctrl.signal);
    holder.release(); // reserved for a
    ctrl.abort(reason); // same turn
    await assert.rejects(Promise.resolve(a), reason);
    assert.equal(slots.stats().inUse, 0);
    take(slots, "k").release();
  });

  test("after delivery the slot is the caller's even if its signal aborts", async () => {
    const slots = new ConnectionSlots({ limit: 1 });
    const holder = take(slots, "k");
    const ctrl = new AbortController();
    const a = slots.acquire("k", ctrl.signal);
    holder.release();
    const slot = await a;
    ctrl.abort();
    assert.equal(slots.stats().inUse, 1);
    slot.release();
    assert.equal(slots.stats().inUse, 0);
  });
});

describe("ConnectionSlots close and hooks", () => {
  test("close() rejects waiters and later acquires; held slots still release", async () => {
    const slots = new ConnectionSlots({ limit: 1 });
    const held = take(slots, "k");
    const w1 = slots.acquire("k");
    const w2 = slots.acquire("j");
    slots.close();
    for (const wait of [w1, w2, slots.acquire("x")]) {
      await assert.rejects(Promise.resolve(wait), (err: unknown) => {
        assert.ok(err instanceof SluiceError);
        assert.equal(err.code, "SLUICE_ERR_CLIENT_POOL_CLOSED");
        return true;
      });
    }
    assert.ok(slots.closed);
    held.release();
    assert.deepEqual(slots.stats().inUse + slots.stats().waiting, 0);
  });

  test("close(reason) also rejects a waiter granted but not yet delivered", async () => {
    const slots = new ConnectionSlots({ limit: 1 });
    const held = take(slots, "k");
    const wait = slots.acquire("k");
    const reason = new Error("session closed");
    held.release();
    slots.close(reason);
    await assert.rejects(Promise.resolve(wait), reason);
    assert.equal(slots.stats().inUse, 0);
  });

  test("onQueued/onDequeued pair up with waited time and outcome", async () => {
    let now = 1000;
    const events: [string, string, number?, DequeueOutcome?][] = [];
    const slots = new ConnectionSlots({
      limit: 1,
      now: () => now,
      onQueued: (key) => events.push(["queued", key]),
      onDequeued: (key, waited, outcome) => events.push(["dequeued", key, waited, outcome]),
    });
    const held = take(slots, "a");
    const ctrl = new AbortController();
    const w1 = slots.acquire("b", ctrl.signal);
    now += 5;
    const w2 = slots.acquire("c");
    const w3 = slots.acquire("d");
    now += 10;
    ctrl.abort();
    await assert.rejects(Promise.resolve(w1));
    now += 20;
    held.release();
    const slot = await w2;
    slots.close();
    await assert.rejects(Promise.resolve(w3));
    slot.release();
    assert.deepEqual(events, [
      ["queued", "b"],
      ["queued", "c"],
      ["queued", "d"],
      ["dequeued", "b", 15, "aborted"],
      ["dequeued", "c", 30, "acquired"],
      ["dequeued", "d", 30, "closed"],
    ]);
  });
});

/**
 * Thousands of acquires with random aborts, timeouts and holding times through
 * limit 2 / limitPerHost 1 over 3 keys. Checks after every step that the
 * limits hold and that no waiter could take a slot yet waits (a stranded
 * waiter is a deadlock), and at the end that everything settled and nothing
 * is held or waiting.
 */
async function stress(seed: number, acquires: number, realTimers: boolean): Promise<void> {
  const rand = prng(seed);
  const keys = ["a", "b", "c"];
  const slots = new ConnectionSlots({ limit: 2, limitPerHost: 1 });
  const heldByKey = new Map<string, number>();
  let held = 0;
  const holders: { slot: Slot; ticksLeft: number }[] = [];
  const pending = new Set<AbortController>();
  let started = 0;
  let settled = 0;
  let granted = 0;

  const onSlot = (slot: Slot): void => {
    settled++;
    granted++;
    held++;
    heldByKey.set(slot.key, (heldByKey.get(slot.key) ?? 0) + 1);
    assert.ok(held <= 2, "more than limit held");
    assert.ok(heldByKey.get(slot.key)! <= 1, "more than limitPerHost held");
    holders.push({ slot, ticksLeft: Math.floor(rand() * 4) });
  };
  const releaseAt = (i: number): void => {
    const [{ slot }] = holders.splice(i, 1);
    held--;
    heldByKey.set(slot.key, heldByKey.get(slot.key)! - 1);
    slot.release();
    if (rand() < 0.2) slot.release(); // idempotence under load
  };
  const acquire = (): void => {
    started++;
    const key = keys[Math.floor(rand() * keys.length)];
    const r = rand();
    const ctrl = new AbortController();
    let signal: AbortSignal | undefined = ctrl.signal;
    if (r < 0.3) signal = undefined;
    else if (r < 0.35) ctrl.abort(new Error("pre-aborted"));
    else if (r < 0.5 && realTimers) signal = AbortSignal.timeout(Math.floor(rand() * 3));
    const result = slots.acquire(key, signal);
    if (result instanceof Slot) return onSlot(result);
    if (signal === ctrl.signal && !ctrl.signal.aborted) pending.add(ctrl);
    result.then(onSlot, (reason: unknown) => {
      settled++;
      assert.ok(signal?.aborted, `rejected without an abort: ${String(reason)}`);
      assert.equal(reason, signal.reason);
    }).finally(() => pending.delete(ctrl));
  };
  const abortOne = (): void => {
    const all = [...pending];
    if (all.length === 0) return;
    all[Math.floor(rand() * all.length)].abort(new Error("aborted"));
  };
  const check = (): void => {
    const stats = slots.stats();
    assert.equal(stats.inUse, held, "slot accounting differs from the holders");
    assert.ok(stats.inUse <= 2);
    for (const key of stats.waitingByKey.keys()) {
      const stranded = stats.inUse < 2 && (stats.inUseByKey.get(key) ?? 0) < 1;
      assert.ok(!stranded, `a waiter of ${key} could take a free slot but waits`);
    }
  };

  for (let steps = 0; steps < acquires * 10; steps++) {
    if (started >= acquires && settled === started && holders.length === 0) break;
    const actions = 1 + Math.floor(rand() * 4);
    for (let n = 0; n < actions; n++) {
      const r = rand();
      if (r < 0.45 && started < acquires) acquire();
      else if (r < 0.6) abortOne();
      else if (r < 0.75 && holders.length > 0) {
        // release and abort in the same turn: the race aiohttp lost
        releaseAt(Math.floor(rand() * holders.length));
        abortOne();
      } else if (holders.length > 0 && rand() < 0.5) {
        releaseAt(Math.floor(rand() * holders.length));
      }
    }
    for (let i = holders.length - 1; i >= 0; i--) {
      if (holders[i].ticksLeft-- <= 0) releaseAt(i);
    }
    // Mostly microtask flushes (fast); a real macrotask turn now and then so
    // AbortSignal.timeout() timers fire in the middle of the traffic.
    if (steps % 8 === 0) await tick();
    else for (let i = 0; i < 20; i++) await Promise.resolve();
    check();
  }
  assert.equal(started, acquires);
  assert.equal(settled, started, "some acquires never settled");
  assert.equal(holders.length, 0);
  assert.deepEqual(slots.stats(), {
    inUse: 0,
    waiting: 0,
    inUseByKey: new Map(),
    waitingByKey: new Map(),
  });
  assert.ok(granted > acquires / 4, `too few grants (${granted}) for a meaningful run`);
  assert.ok(settled - granted > acquires / 10, `too few rejections for a meaningful run`);
}

describe("ConnectionSlots stress", () => {
  test("3000 acquires, random aborts and holds, aborts only (seed 1)", async () => {
    await stress(1, 3000, false);
  });

  test("2000 acquires with real short timeouts too (seed 42)", async () => {
    await stress(42, 2000, true);
  });
});
