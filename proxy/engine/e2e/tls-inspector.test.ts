// The TLS inspector (a listener's first bytes, before any chain) facing hostile clients, as everyone else sees it.
import { connect as tcpConnect, type Socket } from "node:net";
import * as h from "../../../test/support/engine/helpers.js";
import { alpnExtension, extension, helloMessage, inRecords } from "../../../test/support/engine/client-hello.js";
import type { Engine } from "../engine.js";

const INSPECTOR = {
  name: "envoy.filters.listener.tls_inspector",
  typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" },
};

/** The listener's HTTP chain twice: for TLS ClientHellos (by ALPN h2) and for the rest, so the inspector reads. */
function inspected(): Record<string, unknown> {
  const l = h.listener([]);
  const [chain] = l.filter_chains as Record<string, unknown>[];
  return {
    ...l,
    listener_filters: [INSPECTOR],
    filter_chains: [
      { ...chain, filter_chain_match: { transport_protocol: "tls", application_protocols: ["h2"] } },
      { ...chain, filter_chain_match: { transport_protocol: "raw_buffer" } },
    ],
  };
}

const open = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const s = tcpConnect(port, "127.0.0.1", () => resolve(s));
    s.on("error", reject);
  });

describe("the TLS inspector facing hostile clients", () => {
  let b: h.Backend;
  let engine: Engine;
  let port: number;

  beforeAll(async () => {
    b = await h.backend("b");
    ({ engine, port } = await h.startEngine({
      version: "1",
      listeners: [inspected()],
      routes: [h.routeConfig([{ match: { prefix: "/" }, route: { cluster: "b" } }])],
      clusters: [h.cluster("b", [b.port])],
    }));
  });
  afterAll(async () => {
    await engine.stop();
    await b.close();
  });

  it("serves everyone else while clients send 64 KiB ClientHellos of one-byte records", async () => {
    // Just under Envoy's 64 KiB: a valid hello, every byte its own TLS record (6 bytes on the wire each).
    const message = helloMessage(Buffer.concat([alpnExtension("h2"), extension(21, Buffer.alloc(10_700))]));
    const attack = inRecords(message, [1]);
    expect(attack.length).toBeGreaterThan(64_000);
    const attackers = await Promise.all(Array.from({ length: 8 }, () => open(port)));
    for (const s of attackers) {
      s.on("error", () => undefined);
      s.write(attack);
    }
    const t = performance.now();
    const r = await h.get(port, "/");
    expect(r.status).toBe(200);
    // The inspector used to re-read every record on each read: ~1 s of the event loop per such hello.
    expect(performance.now() - t).toBeLessThan(1500);
    for (const s of attackers) s.destroy();
  });
});
