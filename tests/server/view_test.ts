import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Application } from "../../server/application.ts";
import { json, text } from "../../server/responses.ts";
import { View } from "../../server/view.ts";

const quiet = { logger: { error() {}, info() {} } };
const at = (path: string, init?: RequestInit) => new Request(`http://localhost${path}`, init);

class ItemView extends View<{ id: string }> {
  get(): Response {
    return json({ id: this.request.params.id, method: this.request.method });
  }
  async post(): Promise<Response> {
    return json({ id: this.request.params.id, got: await this.request.json() }, { status: 201 });
  }
}

describe("View", () => {
  test("routes each verb to its method, a new instance per request", async () => {
    const instances = new Set<View>();
    class Counted extends ItemView {
      constructor(...args: ConstructorParameters<typeof ItemView>) {
        super(...args);
        instances.add(this);
      }
    }
    const app = new Application(quiet);
    app.router.view("/items/:id", Counted);
    assert.deepEqual(await (await app.fetch(at("/items/5"))).json(), { id: "5", method: "GET" });
    const created = await app.fetch(at("/items/5", { method: "POST", body: '{"a":1}' }));
    assert.equal(created.status, 201);
    assert.deepEqual(await created.json(), { id: "5", got: { a: 1 } });
    assert.equal(instances.size, 2);
  });

  test("405 with Allow for other verbs; HEAD from get(); OPTIONS answered", async () => {
    const app = new Application(quiet);
    app.router.view("/items/:id", ItemView);
    const put = await app.fetch(at("/items/1", { method: "PUT" }));
    assert.equal(put.status, 405);
    assert.equal(put.headers.get("allow"), "GET, HEAD, OPTIONS, POST");
    const head = await app.fetch(at("/items/1", { method: "HEAD" }));
    assert.equal(head.status, 200);
    assert.equal(head.body, null);
    const options = await app.fetch(at("/items/1", { method: "OPTIONS" }));
    assert.equal(options.status, 204);
    assert.equal(options.headers.get("allow"), "GET, HEAD, OPTIONS, POST");
  });

  test("inherited and explicit head()/options() methods are routed", async () => {
    class Base extends View {
      delete(): Response {
        return text("deleted");
      }
    }
    class Full extends Base {
      head(): Response {
        return new Response(null, { headers: { "x-head": "own" } });
      }
      options(): Response {
        return text("custom options");
      }
    }
    const app = new Application(quiet);
    app.router.view("/full", Full);
    assert.equal(await (await app.fetch(at("/full", { method: "DELETE" }))).text(), "deleted");
    assert.equal((await app.fetch(at("/full", { method: "HEAD" }))).headers.get("x-head"), "own");
    assert.equal(
      await (await app.fetch(at("/full", { method: "OPTIONS" }))).text(),
      "custom options",
    );
    const get = await app.fetch(at("/full"));
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "DELETE, HEAD, OPTIONS");
  });

  test("takes a name and route middlewares", async () => {
    const app = new Application(quiet);
    app.router.view("/items/:id", ItemView, {
      name: "item",
      middlewares: [async (req, next) => {
        const res = await next(req);
        res.headers.set("x-view", "yes");
        return res;
      }],
    });
    assert.equal(app.router.url("item", { params: { id: 9 } }), "/items/9");
    assert.equal((await app.fetch(at("/items/9"))).headers.get("x-view"), "yes");
    const post = await app.fetch(at("/items/9", { method: "POST", body: "1" }));
    assert.equal(post.headers.get("x-view"), "yes");
  });

  test("a handler error in a view is rendered like any other", async () => {
    class Broken extends View {
      get(): Response {
        throw new Error("internal detail");
      }
    }
    const app = new Application(quiet);
    app.router.view("/broken", Broken);
    const res = await app.fetch(at("/broken"));
    assert.equal(res.status, 500);
    assert.doesNotMatch(await res.text(), /internal detail/);
  });

  test("refuses classes that are not views or handle no verb", () => {
    const app = new Application(quiet);
    class NotAView {
      get(): Response {
        return text("x");
      }
    }
    class Empty extends View {}
    // @ts-expect-error: not a View subclass
    assert.throws(() => app.router.view("/a", NotAView), /not a subclass of View/);
    assert.throws(() => app.router.view("/b", Empty), /defines none of/);
  });
});
