// Mutual TLS between two engines, as two sidecars have it: the client's cluster originates ISTIO_MUTUAL-style TLS
// with SDS secrets `default` and `ROOTCA` (ALPN istio-peer-exchange/istio, the server's SPIFFE ID checked); the
// server's inbound listener is PERMISSIVE (tls_inspector: TLS and plaintext chains) or STRICT (TLS only, client
// certificate required). Real TLS on loopback, requests from outside.
import { connect } from "node:tls";
import { connect as tcpConnect } from "node:net";
import {
  backend,
  cluster,
  get,
  many,
  listener,
  routeConfig,
  startEngine,
  type Backend,
} from "../../../test/support/engine/helpers.js";
import { generateCa, signCsr, type KeyPair } from "../../../operator/runtime/pki.js";
import { createCsr } from "../../agent/csr.js";
import { workloadSecrets } from "../../agent/secrets.js";
import type { Engine } from "../engine.js";
import type { Resources } from "../config/types.js";
import { ConfigError } from "../config/index.js";
import { hcm, inboundTls, istioMutual, TLS_INSPECTOR } from "../../../test/support/engine/istio-mtls.js";

const TD = "cluster.local";
const SLEEP = `spiffe://${TD}/ns/default/sa/sleep`;
const HTTPBIN = `spiffe://${TD}/ns/default/sa/httpbin`;

async function workload(ca: KeyPair, uri: string, ttlMs = 3600_000) {
  const { csrPem, keyPem } = await createCsr([uri]);
  return { certChainPem: (await signCsr(ca, csrPem, uri, ttlMs)) + ca.certPem, keyPem, rootPem: ca.certPem };
}

/** The server sidecar's inbound listener: PERMISSIVE (TLS and plaintext) or STRICT (TLS only). */
function inbound(mode: "PERMISSIVE" | "STRICT"): Record<string, unknown> {
  return {
    name: "http",
    address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
    listener_filters: [TLS_INSPECTOR],
    filter_chains: [
      { filter_chain_match: { transport_protocol: "tls" }, transport_socket: inboundTls, filters: [hcm("inbound")] },
      ...(mode === "PERMISSIVE"
        ? [{ filter_chain_match: { transport_protocol: "raw_buffer" }, filters: [hcm("inbound")] }]
        : []),
    ],
  };
}

describe("mTLS between two engines (SDS secrets, PERMISSIVE and STRICT inbound)", () => {
  let ca: KeyPair;
  let app: Backend;
  let server: Engine;
  let client: Engine;
  let serverPort = 0;
  let clientPort = 0;
  let serverSecrets: unknown[];
  let clientSecrets: unknown[];
  const routes = (c: string) => [routeConfig([{ match: { prefix: "/" }, route: { cluster: c } }])];

  const serverConfig = (mode: "PERMISSIVE" | "STRICT", version: string, secrets = serverSecrets): Resources => ({
    version,
    listeners: [inbound(mode)],
    routes: routes("app"),
    clusters: [cluster("app", [app.port])],
    secrets,
  });
  const clientConfig = (san: string, version: string, secrets = clientSecrets): Resources => ({
    version,
    listeners: [listener([])],
    routes: routes("peer"),
    clusters: [cluster("peer", [serverPort], istioMutual(san))],
    secrets,
  });

  beforeAll(async () => {
    ca = await generateCa("mesh root", 1);
    app = await backend("httpbin");
    serverSecrets = workloadSecrets(await workload(ca, HTTPBIN));
    clientSecrets = workloadSecrets(await workload(ca, SLEEP));
    ({ engine: server, port: serverPort } = await startEngine(serverConfig("PERMISSIVE", "1")));
    ({ engine: client, port: clientPort } = await startEngine(clientConfig(HTTPBIN, "1")));
  }, 30_000);
  afterAll(async () => {
    await client?.stop();
    await server?.stop();
    await app?.close();
  });

  const xfcc = (body: string) =>
    (JSON.parse(body) as { headers: Record<string, string> }).headers["x-forwarded-client-cert"];

  it("PERMISSIVE: a plaintext client and an mTLS peer both reach the workload; the app sees the peer's SPIFFE ID", async () => {
    const plain = await get(serverPort, "/", { "x-forwarded-client-cert": "URI=spiffe://forged" }, { agent: false });
    expect(plain.status).toBe(200);
    expect(xfcc(plain.body)).toBeUndefined(); // not mTLS: a client's header is removed
    const mtls = await get(clientPort, "/", {}, { agent: false });
    expect(mtls.status).toBe(200);
    expect(xfcc(mtls.body)).toMatch(new RegExp(`^By=${HTTPBIN};Hash=[0-9a-f]{64};Subject="";URI=${SLEEP}$`));
  });

  it("STRICT: plaintext is refused at the TLS layer, a TLS client without a certificate too, the mesh peer gets through", async () => {
    await server.apply(serverConfig("STRICT", "2"));
    const plain = await get(serverPort, "/", {}, { agent: false }).then(
      (r) => `HTTP ${r.status}`,
      (e: Error) => e.message,
    );
    expect(plain).toMatch(/socket hang up|ECONNRESET/);
    const noCert = await new Promise<string>((resolve) => {
      const s = connect({
        host: "127.0.0.1",
        port: serverPort,
        ca: ca.certPem,
        servername: "x",
        ALPNProtocols: ["istio"],
      });
      s.on("secureConnect", () => s.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
      s.on("data", (d: Buffer) => resolve(d.toString("latin1").split("\r\n")[0] ?? ""));
      s.on("error", (e) => resolve(`error: ${e.message}`));
      s.on("close", () => resolve("closed"));
    });
    expect(noCert).not.toMatch(/^HTTP/);
    const mtls = await get(clientPort, "/", {}, { agent: false });
    expect(mtls.status).toBe(200);
    expect(xfcc(mtls.body)).toContain(`URI=${SLEEP}`);
    expect(server.statsText()).toMatch(/^listener\.http\.no_filter_chain_match: [1-9]/m);
  });

  it("checks the server's SPIFFE ID: another identity is a 503, never plaintext", async () => {
    await client.apply(clientConfig(`spiffe://${TD}/ns/default/sa/other`, "3"));
    const r = await get(clientPort, "/", {}, { agent: false });
    expect(r.status).toBe(503);
    await client.apply(clientConfig(HTTPBIN, "4"));
  });

  it("a rotation (new secrets) serves new connections with the new certificate, without failing a request", async () => {
    const before = xfcc((await get(clientPort, "/", {}, { agent: false })).body);
    clientSecrets = workloadSecrets(await workload(ca, SLEEP));
    await client.apply(clientConfig(HTTPBIN, "5"));
    // Pooled connections (old certificate, as in Envoy) serve on; concurrent requests open new ones, which carry
    // the new certificate.
    const replies = await many(16, 16, () => get(clientPort, "/", {}, { agent: false }));
    expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200));
    const seen = new Set(replies.map((r) => xfcc(r.body)));
    expect([...seen].some((x) => x !== before && x?.endsWith(`URI=${SLEEP}`))).toBe(true);
  });

  it("a cluster whose secret it doesn't have refuses its requests (503, never plaintext), as Envoy's not-ready cluster", async () => {
    // A cluster of its own: the connections "peer" pooled before (with the certificate it had) would serve on, as
    // Envoy's do on a rotation.
    await client.apply({
      ...clientConfig(HTTPBIN, "x", []),
      routes: routes("fresh"),
      clusters: [cluster("fresh", [serverPort], istioMutual(HTTPBIN))],
    });
    const statuses = (await many(4, 4, () => get(clientPort, "/", {}, { agent: false }))).map((r) => r.status);
    expect(statuses).toEqual([503, 503, 503, 503]);
    await client.apply(clientConfig(HTTPBIN, "x2"));
    expect((await get(clientPort, "/", {}, { agent: false })).status).toBe(200);
  });

  it("NACKs what it doesn't implement, naming the field", async () => {
    const nack = (res: Resources) =>
      client.apply(res).then(
        () => "accepted",
        (e: unknown) => (e instanceof ConfigError ? e.message : String(e)),
      );
    const badSds = clientConfig(HTTPBIN, "y");
    const ts = (badSds.clusters![0] as ReturnType<typeof istioMutual>).transport_socket.typed_config;
    (ts.common_tls_context.tls_certificate_sds_secret_configs[0] as Record<string, unknown>).sds_config = {
      api_config_source: { api_type: "GRPC" },
    };
    expect(await nack(badSds)).toContain(
      "tls_certificate_sds_secret_configs[0].sds_config.api_config_source: not supported",
    );
    const badDown = serverConfig("STRICT", "z");
    const l = badDown.listeners![0] as {
      filter_chains: { transport_socket?: { typed_config: Record<string, unknown> } }[];
    };
    l.filter_chains[0]!.transport_socket = {
      typed_config: { ...inboundTls.typed_config, ocsp_staple_policy: "STRICT_STAPLING" },
    };
    expect(await server.apply(badDown).catch((e: Error) => e.message)).toContain(
      "transport_socket.typed_config.ocsp_staple_policy: not supported",
    );
  });

  it("the inspector hands the first bytes on: a raw HTTP/1.1 request on PERMISSIVE is answered", async () => {
    await server.apply(serverConfig("PERMISSIVE", "6"));
    const s = tcpConnect(serverPort, "127.0.0.1");
    await new Promise((r) => s.once("connect", r));
    s.write("GET / HTTP/1.1\r\nhost: a\r\n\r\n");
    const first = await new Promise<string>((r) => s.once("data", (d: Buffer) => r(d.toString("latin1"))));
    expect(first).toMatch(/^HTTP\/1\.1 200/);
    s.destroy();
  });
});
