// Request mirroring: the shadow cluster gets a copy (host suffixed "-shadow", as Envoy does), the client gets
// only the primary's answer, and a mirror's failure never reaches the client.
import {
  backend,
  cluster,
  countBy,
  get,
  many,
  resources,
  startEngine,
  type Backend,
} from "../../../test/support/engine/helpers.js";
import { shareDeviation } from "../../../test/support/share.js";
import type { Engine } from "../engine.js";

describe("request mirroring through the engine", () => {
  let primary: Backend;
  let shadow: Backend;
  const shadowed: { host: string; url: string; body: string }[] = [];
  let engine: Engine;
  let port: number;

  beforeAll(async () => {
    primary = await backend("primary");
    shadow = await backend("shadow", (req, res, body) => {
      shadowed.push({ host: req.headers.host ?? "", url: req.url ?? "", body });
      res.writeHead(500).end("the shadow is broken"); // what the shadow answers is thrown away
    });
    ({ engine, port } = await startEngine(
      resources(
        [
          {
            match: { prefix: "/half" },
            route: {
              cluster: "primary",
              request_mirror_policies: [
                { cluster: "shadow", runtime_fraction: { default_value: { numerator: 50, denominator: "HUNDRED" } } },
              ],
            },
          },
          { match: { prefix: "/" }, route: { cluster: "primary", request_mirror_policies: [{ cluster: "shadow" }] } },
        ],
        [cluster("primary", [primary.port]), cluster("shadow", [shadow.port])],
      ),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await primary.close();
    await shadow.close();
  });

  it("sends a copy of each request, body included, to the shadow with '-shadow' on the host; the client sees only the primary", async () => {
    const replies = await many(20, 4, (i) =>
      get(port, `/orders/${i}`, { host: "shop.example:8080" }, { method: "POST", body: `order ${i}` }),
    );
    expect(countBy(replies, (r) => `${r.status} ${JSON.parse(r.body).name}`)).toEqual({ "200 primary": 20 });
    while (shadowed.length < 20) await new Promise((r) => setImmediate(r)); // mirrors are fire-and-forget: await their arrival
    expect(new Set(shadowed.map((s) => s.host))).toEqual(new Set(["shop.example-shadow:8080"]));
    expect(shadowed.map((s) => s.url).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `/orders/${i}`).sort());
    expect(shadowed.find((s) => s.url === "/orders/7")?.body).toBe("order 7");
  });

  it("mirrors only the configured fraction", async () => {
    shadowed.length = 0;
    const before = primary.hits;
    await many(400, 8, () => get(port, "/half"));
    expect(primary.hits - before).toBe(400);
    const mirrored = await new Promise<number>((resolve) => setTimeout(() => resolve(shadowed.length), 200)); // let stragglers land
    expect(shareDeviation(mirrored, 400, 0.5)).toBeLessThanOrEqual(1);
  });
});
