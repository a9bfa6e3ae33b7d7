import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type ClientTimeout,
  DEFAULT_TIMEOUTS,
  PhaseTimer,
  resolveTimeouts,
  type TimerFunctions,
} from "../../client/timeouts.ts";
import { TimeoutError } from "../../client/errors.ts";

/** Timers the test fires by hand; `pending` shows what is still scheduled. */
function fakeTimers(): TimerFunctions & {
  pending: Map<number, { fn: () => void; ms: number }>;
  fire(ms: number): void;
} {
  let next = 1;
  const pending = new Map<number, { fn: () => void; ms: number }>();
  return {
    pending,
    setTimeout(fn, ms) {
      const id = next++;
      pending.set(id, { fn, ms });
      return id;
    },
    clearTimeout(handle) {
      pending.delete(handle as number);
    },
    fire(ms) {
      for (const [id, t] of [...pending]) {
        if (t.ms === ms && pending.has(id)) {
          pending.delete(id);
          t.fn();
        }
      }
    },
  };
}

describe("resolveTimeouts()", () => {
  const cases: {
    name: string;
    session?: ClientTimeout;
    request?: ClientTimeout;
    want: Partial<Record<keyof ClientTimeout, number>>;
  }[] = [
    { name: "defaults", want: { ...DEFAULT_TIMEOUTS } },
    {
      name: "session overrides defaults",
      session: { total: 5, connect: 2 },
      want: { total: 5, connect: 2, sockRead: Infinity },
    },
    {
      name: "request overrides session",
      session: { total: 5, connect: 2 },
      request: { connect: 3 },
      want: { total: 5, connect: 3 },
    },
    {
      name: "undefined inherits",
      session: { headers: 4 },
      request: { headers: undefined },
      want: { headers: 4 },
    },
    {
      name: "0 means none",
      session: { total: 5 },
      request: { total: 0 },
      want: { total: Infinity },
    },
    {
      name: "Infinity means none",
      request: { total: Infinity, poolWait: Infinity },
      want: { total: Infinity, poolWait: Infinity },
    },
    {
      name: "every phase",
      request: { total: 1, poolWait: 2, connect: 3, headers: 4, sockRead: 5 },
      want: { total: 1, poolWait: 2, connect: 3, headers: 4, sockRead: 5 },
    },
  ];
  for (const c of cases) {
    test(`resolveTimeouts() ${c.name}`, () => {
      const got = resolveTimeouts(c.session, c.request);
      assert.ok(Object.isFrozen(got));
      for (const [k, v] of Object.entries(c.want)) {
        assert.equal(got[k as keyof ClientTimeout], v, k);
      }
    });
  }

  const bad: [string, unknown, ErrorConstructor][] = [
    ["negative", { total: -1 }, RangeError],
    ["NaN", { connect: NaN }, RangeError],
    ["-Infinity", { sockRead: -Infinity }, RangeError],
    ["too large", { headers: 2 ** 31 }, RangeError],
    ["a string", { total: "5" }, TypeError],
    ["not an object", 5, TypeError],
  ];
  for (const [name, value, type] of bad) {
    test(`resolveTimeouts() rejects ${name} with ${type.name}`, () => {
      assert.throws(() => resolveTimeouts(value as ClientTimeout), type);
      assert.throws(() => resolveTimeouts({}, value as ClientTimeout), type);
    });
  }

  test("resolveTimeouts() error names the phase", () => {
    assert.throws(() => resolveTimeouts({ poolWait: -3 }), /"poolWait" must be >= 0 ms.*got -3/);
  });
});

describe("PhaseTimer", () => {
  const live: PhaseTimer[] = [];
  after(() => {
    for (const t of live) t.clear();
  });

  test("PhaseTimer starts total at construction and aborts with its TimeoutError", () => {
    const timers = fakeTimers();
    const t = new PhaseTimer(resolveTimeouts({ total: 100 }), { timers });
    assert.deepEqual(t.running, ["total"]);
    assert.equal(t.signal.aborted, false);
    timers.fire(100);
    assert.ok(t.signal.aborted);
    const reason = t.signal.reason as TimeoutError;
    assert.ok(reason instanceof TimeoutError);
    assert.equal(reason.phase, "total");
    assert.equal(reason.timeout, 100);
    assert.equal(timers.pending.size, 0);
  });

  for (const phase of ["poolWait", "connect", "headers", "sockRead"] as const) {
    test(`PhaseTimer aborts with a "${phase}" TimeoutError and leaves no timer`, () => {
      const timers = fakeTimers();
      const t = new PhaseTimer(resolveTimeouts({ total: 1000, [phase]: 10 }), { timers });
      t.start(phase);
      assert.equal(timers.pending.size, 2);
      timers.fire(10);
      assert.equal((t.signal.reason as TimeoutError).phase, phase);
      assert.equal(
        (t.signal.reason as TimeoutError).code.startsWith("SLUICE_ERR_CLIENT_TIMEOUT_"),
        true,
      );
      assert.equal(timers.pending.size, 0);
      t.start("connect");
      assert.equal(timers.pending.size, 0, "no timer starts once aborted");
    });
  }

  test("PhaseTimer.end() stops a phase; restarting replaces its timer", () => {
    const timers = fakeTimers();
    const t = new PhaseTimer(resolveTimeouts({ total: 0, sockRead: 5 }), { timers });
    assert.equal(timers.pending.size, 0, "total 0 sets no timer");
    t.start("sockRead");
    t.start("sockRead");
    t.start("sockRead");
    assert.equal(timers.pending.size, 1);
    t.end("sockRead");
    t.end("sockRead");
    assert.equal(timers.pending.size, 0);
    assert.equal(t.signal.aborted, false);
  });

  test("PhaseTimer with a phase of no timeout sets no timer", () => {
    const timers = fakeTimers();
    const t = new PhaseTimer(resolveTimeouts({ total: 50 }), { timers });
    t.start("connect");
    assert.deepEqual(t.running, ["total"]);
    t.clear();
  });

  test("PhaseTimer.clear() removes every timer and the caller's listener", () => {
    const timers = fakeTimers();
    const outer = new AbortController();
    const t = new PhaseTimer(resolveTimeouts({ connect: 5, headers: 6 }), {
      timers,
      signal: outer.signal,
    });
    t.start("connect");
    t.start("headers");
    assert.equal(timers.pending.size, 3);
    t.clear();
    assert.equal(timers.pending.size, 0);
    outer.abort(new Error("late"));
    assert.equal(t.signal.aborted, false, "cleared timer no longer follows the caller's signal");
  });

  test("PhaseTimer follows the caller's signal and clears its timers", () => {
    const timers = fakeTimers();
    const outer = new AbortController();
    const t = new PhaseTimer(resolveTimeouts({ connect: 5 }), { timers, signal: outer.signal });
    t.start("connect");
    const reason = new Error("user abort");
    outer.abort(reason);
    assert.equal(t.signal.reason, reason);
    assert.equal(timers.pending.size, 0);
  });

  test("PhaseTimer with an already aborted signal starts aborted, with no timer", () => {
    const timers = fakeTimers();
    const reason = new Error("before");
    const t = new PhaseTimer(resolveTimeouts(), { timers, signal: AbortSignal.abort(reason) });
    assert.equal(t.signal.reason, reason);
    t.start("connect");
    assert.equal(timers.pending.size, 0);
  });

  test("PhaseTimer aborts once: a later deadline does not replace the reason", () => {
    const timers = fakeTimers();
    const t = new PhaseTimer(resolveTimeouts({ total: 20, headers: 10 }), { timers });
    t.start("headers");
    timers.fire(10);
    timers.fire(20);
    assert.equal((t.signal.reason as TimeoutError).phase, "headers");
  });

  test("PhaseTimer.recover() undoes a phase deadline only, total running on with what is left", () => {
    const timers = fakeTimers();
    const outer = new AbortController();
    const t = new PhaseTimer(resolveTimeouts({ total: 60_000, connect: 10 }), {
      timers,
      signal: outer.signal,
    });
    const first = t.signal;
    t.start("connect");
    timers.fire(10);
    const reason = t.reason as TimeoutError;
    assert.equal(reason.phase, "connect");
    assert.equal(first.aborted, true);
    assert.equal(t.recover(new TimeoutError("connect", 10)), false, "another error: no");
    assert.equal(t.recover(reason), true);
    assert.equal(t.aborted, false);
    assert.notEqual(t.signal, first, "a new signal");
    assert.equal(t.signal.aborted, false);
    // `total` is armed again (for what is left of 60 s), the caller's signal linked again.
    const [armed] = [...timers.pending.values()];
    assert.ok(armed.ms > 59_000 && armed.ms <= 60_000, `total re-armed for ${armed.ms} ms`);
    const stop = new Error("stop");
    outer.abort(stop);
    assert.equal(t.reason, stop);
    assert.equal(t.recover(stop), false, "the caller's abort stays");
    assert.equal(timers.pending.size, 0);
  });

  test("PhaseTimer.recover() leaves a total timeout as it is", () => {
    const timers = fakeTimers();
    const t = new PhaseTimer(resolveTimeouts({ total: 20 }), { timers });
    timers.fire(20);
    assert.equal(t.recover(t.reason), false);
    assert.equal(t.aborted, true);
  });

  test("PhaseTimer with real timers: connect fires, total still cleared", async () => {
    const t = new PhaseTimer(resolveTimeouts({ total: 5_000, connect: 20 }));
    live.push(t);
    t.start("connect");
    const reason = await new Promise<unknown>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error("connect deadline never fired")), 2_000);
      t.signal.addEventListener("abort", () => {
        clearTimeout(guard);
        resolve(t.signal.reason);
      });
    });
    assert.ok(reason instanceof TimeoutError);
    assert.equal(reason.phase, "connect");
    assert.deepEqual(t.running, []);
  });

  test("PhaseTimer supports using (Symbol.dispose clears)", () => {
    const timers = fakeTimers();
    {
      using t = new PhaseTimer(resolveTimeouts({ total: 5 }), { timers });
      assert.equal(t.running.length, 1);
    }
    assert.equal(timers.pending.size, 0);
  });
});
