import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Application } from "../../server/application.ts";
import { redirect } from "../../server/responses.ts";

describe("redirect()", () => {
  test("302 by default, relative locations kept as given, headers mutable", () => {
    const res = redirect("/login?next=%2F");
    assert.equal(res.status, 302);
    assert.equal(res.headers.get("location"), "/login?next=%2F");
    res.headers.set("x-extra", "1");
    assert.equal(res.body, null);
    const absolute = redirect(new URL("https://example.com/a b"), 308, {
      headers: { "cache-control": "no-store" },
    });
    assert.equal(absolute.status, 308);
    assert.equal(absolute.headers.get("location"), "https://example.com/a%20b");
    assert.equal(absolute.headers.get("cache-control"), "no-store");
  });

  test("refuses other statuses, empty locations, spaces and control characters", () => {
    for (const status of [200, 300, 304, 399]) {
      assert.throws(() => redirect("/x", status as 302), RangeError);
    }
    for (const bad of ["", "/a b", "/a\r\nSet-Cookie: x=1", "/a\u0000", "/\u007f"]) {
      assert.throws(() => redirect(bad), TypeError, JSON.stringify(bad));
    }
  });

  test("through an application's middleware, which can add headers", async () => {
    const app = new Application();
    app.use(async (req, next) => {
      const res = await next(req);
      res.headers.set("x-seen", "yes");
      return res;
    });
    app.router.post("/form", () => redirect("/done", 303));
    const res = await app.fetch(new Request("http://localhost/form", { method: "POST" }));
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/done");
    assert.equal(res.headers.get("x-seen"), "yes");
  });
});
