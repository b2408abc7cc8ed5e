// The TLS inspector (a listener's first bytes, before any chain) facing hostile clients, as everyone else sees it.
import { createServer, connect as tcpConnect, type AddressInfo, type Server, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { generateCa, issueCert } from "../../../operator/runtime/pki.js";
import * as h from "../../../test/support/engine/helpers.js";
import {
  alpnExtension,
  extension,
  hello,
  helloMessage,
  inRecords,
  sniExtension,
} from "../../../test/support/engine/client-hello.js";
import { TYPE } from "../../xds/types.js";
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

  it("survives a client that resets its connection before its ClientHello is whole", async () => {
    // An unhandled socket error ends a Node process: the engine's, for every client it serves.
    const s = await open(port);
    s.write(hello(undefined).subarray(0, 20));
    // Nothing tells a client its bytes were read: a pause, so the reset finds the engine waiting for the rest.
    await new Promise((r) => setTimeout(r, 50));
    s.resetAndDestroy();
    expect((await h.get(port, "/")).status).toBe(200);
    expect((await h.get(port, "/")).status).toBe(200);
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

describe("the TLS inspector's counters, by Envoy's names", () => {
  let engine: Engine;
  let port: number;

  beforeAll(async () => {
    ({ engine, port } = await h.startEngine({
      version: "1",
      listeners: [inspected()],
      routes: [h.routeConfig([{ match: { prefix: "/" }, direct_response: { status: 200 } }])],
      clusters: [],
    }));
  });
  afterAll(() => engine.stop());

  const stat = (name: string) =>
    Number(engine.statsText().match(new RegExp(`^tls_inspector\\.${name}: (\\d+)$`, "m"))?.[1]);
  /** Sends `bytes` on a connection of its own, and waits until the server closes it or `counted` has counted. */
  async function send(bytes: Buffer, counted: string): Promise<void> {
    const before = stat(counted);
    const s = await open(port);
    s.on("error", () => undefined);
    s.write(bytes);
    await h.until(() => stat(counted) > before);
    s.destroy();
  }

  it("closes a client that sends nothing after listener_filters_timeout, counted as Envoy's downstream_pre_cx_timeout", async () => {
    const l = { ...inspected(), name: "quiet", listener_filters_timeout: "0.2s" };
    const routes = [h.routeConfig([{ match: { prefix: "/" }, direct_response: { status: 200 } }])];
    const res = { version: "2", listeners: [inspected(), l], routes, clusters: [] };
    await engine.apply(res); // listener_filters_timeout was a NACK: every inspector waited 15 s
    const s = await open(engine.listenerPort("quiet"));
    await new Promise((r) => s.once("close", r));
    expect(engine.statsText()).toMatch(/^listener\.quiet\.downstream_pre_cx_timeout: 1$/m);
    await expect(
      engine.apply({ ...res, listeners: [{ ...l, continue_on_listener_filters_timeout: true }] }),
    ).rejects.toThrow('Listener "quiet": continue_on_listener_filters_timeout: only false is supported');
  });

  it("are there at 0 for a listener that inspects, and count each verdict", async () => {
    for (const n of ["client_hello_too_large", "tls_found", "tls_not_found", "alpn_found", "sni_found"])
      expect(stat(n)).toBe(0);
    await send(hello(Buffer.concat([sniExtension("shop.example.com"), alpnExtension("h2")])), "tls_found");
    expect([stat("alpn_found"), stat("sni_found"), stat("alpn_not_found"), stat("sni_not_found")]).toEqual([
      1, 1, 0, 0,
    ]);
    await send(hello(undefined), "tls_found");
    expect([stat("alpn_not_found"), stat("sni_not_found")]).toEqual([1, 1]);
    await send(Buffer.from("GET / HTTP/1.1\r\nhost: a\r\n\r\n"), "tls_not_found");
    // A handshake message of 64 KiB, more than Envoy's max_client_hello_size: the connection is closed.
    await send(Buffer.from([0x16, 3, 1, 0x40, 0, 1, 1, 0, 0]), "client_hello_too_large");
    expect(stat("tls_found")).toBe(2);
  });
});

/** A network RBAC filter denying connections whose requested server name is `name`, as Istio's connection.sni. */
const denySni = (name: string) => ({
  name: "envoy.filters.network.rbac",
  typed_config: {
    "@type": TYPE.networkRbac,
    stat_prefix: "tcp.",
    rules: {
      action: "DENY",
      policies: { sni: { permissions: [{ requested_server_name: { exact: name } }], principals: [{ any: true }] } },
    },
  },
});

describe("RBAC's requested_server_name is the SNI the chain was picked by", () => {
  let engine: Engine;
  let backend: Server;
  let ca: Awaited<ReturnType<typeof generateCa>>;
  const reached: Buffer[] = [];

  beforeAll(async () => {
    // The backend behind the passthrough chain counts what reaches it.
    backend = createServer((s) => s.on("data", (d: Buffer) => reached.push(d)));
    await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
    ca = await generateCa("sni rbac root", 1);
    const leaf = await issueCert(ca, {
      commonName: "shop.example.com",
      dnsNames: ["shop.example.com"],
      usage: "server",
      days: 1,
    });
    const http = (h.listener([]).filter_chains as { filters: unknown[] }[])[0]!.filters;
    const tcp = {
      name: "envoy.filters.network.tcp_proxy",
      typed_config: { "@type": TYPE.tcpProxy, stat_prefix: "b", cluster: "b" },
    };
    engine = await h.testEngine({
      version: "1",
      listeners: [
        {
          // A gateway's PASSTHROUGH port: TLS passed on untouched, picked by server name.
          ...h.listener([], undefined, "passthrough"),
          listener_filters: [INSPECTOR],
          filter_chains: [
            { filter_chain_match: { server_names: ["*.example.com"] }, filters: [denySni("shop.example.com"), tcp] },
          ],
        },
        {
          // A terminating server for the name.
          ...h.listener([], undefined, "https"),
          listener_filters: [INSPECTOR],
          filter_chains: [
            {
              filter_chain_match: { server_names: ["shop.example.com"] },
              transport_socket: h.tlsTransport(leaf.certPem, leaf.keyPem),
              filters: [denySni("shop.example.com"), ...http],
            },
          ],
        },
      ],
      routes: [h.routeConfig([{ match: { prefix: "/" }, direct_response: { status: 200 } }])],
      clusters: [h.cluster("b", [(backend.address() as AddressInfo).port])],
    });
  });
  afterAll(async () => {
    await engine.stop();
    backend.close();
  });

  it("denies a passed-through connection by its SNI (there was none to match: any name got through)", async () => {
    const s = await open(engine.listenerPort("passthrough"));
    const closed = new Promise((r) => s.once("close", r));
    s.on("error", () => undefined);
    s.write(hello(sniExtension("shop.example.com")));
    await closed;
    expect(reached).toEqual([]);
    expect(engine.statsText()).toMatch(/^listener\.passthrough\.tcp\.rbac\.denied: 1$/m);
    // Another name under the chain's wildcard goes through.
    const other = await open(engine.listenerPort("passthrough"));
    other.write(hello(sniExtension("cart.example.com")));
    await h.until(() => reached.length > 0);
    other.destroy();
  });

  it("denies a terminated connection whatever the SNI's case (SHOP.example.com got through)", async () => {
    for (const servername of ["shop.example.com", "SHOP.Example.com"]) {
      const s = tlsConnect({ host: "127.0.0.1", port: engine.listenerPort("https"), servername, ca: ca.certPem });
      const outcome = await new Promise<string>((resolve) => {
        s.once("secureConnect", () => {
          s.write("GET / HTTP/1.1\r\nhost: shop.example.com\r\n\r\n");
          s.once("data", (d: Buffer) => resolve(d.toString().split("\r\n")[0]!));
        });
        s.once("close", () => resolve("closed"));
        s.once("error", () => resolve("closed"));
      });
      s.destroy();
      expect(`${servername}: ${outcome}`).toBe(`${servername}: closed`);
    }
  });
});
