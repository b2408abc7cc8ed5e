// TLS on a listener: ALPN picks HTTP/2 or HTTP/1.1 on the same port; a client offering neither gets no ALPN (HTTP/1.1).
import { connect as h2connect } from "node:http2";
import { request as httpsRequest } from "node:https";
import { connect as tlsConnect } from "node:tls";
import { selfSigned } from "../../../test/support/engine/certs.js";
import {
  alpnGet,
  backend,
  cluster,
  listener,
  routeConfig,
  startEngine,
  tlsTransport,
  type Backend,
} from "../../../test/support/engine/helpers.js";
import type { Engine } from "../engine.js";
import { ConfigError } from "../config/index.js";

function tlsListener(cert: string, key: string): Record<string, unknown> {
  const l = listener([]);
  const chain = (l.filter_chains as Record<string, unknown>[])[0] as Record<string, unknown>;
  chain.transport_socket = tlsTransport(cert, key);
  return l;
}

describe("TLS listener with ALPN", () => {
  let b: Backend;
  let engine: Engine;
  let port: number;
  let cert: string;
  beforeAll(async () => {
    b = await backend("b");
    const pair = await selfSigned();
    cert = pair.cert;
    ({ engine, port } = await startEngine({
      listeners: [tlsListener(pair.cert, pair.key)],
      routes: [routeConfig([{ match: { prefix: "/" }, route: { cluster: "b" } }])],
      clusters: [cluster("b", [b.port])],
    }));
  });
  afterAll(async () => {
    await engine.stop();
    await b.close();
  });

  it("serves HTTP/2 to clients that negotiate h2", async () => {
    const session = h2connect(`https://localhost:${port}`, { ca: cert });
    const body = await new Promise<string>((resolve, reject) => {
      const req = session.request({ ":path": "/over-h2" });
      let data = "";
      req.on("data", (d: Buffer) => (data += d.toString()));
      req.on("end", () => resolve(data));
      req.on("error", reject);
      req.end();
    });
    expect(session.alpnProtocol).toBe("h2");
    expect(JSON.parse(body)).toMatchObject({ name: "b", url: "/over-h2" });
    session.close();
  });

  it("serves HTTP/1.1 to clients that offer no ALPN", async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest({ host: "localhost", port, path: "/over-h1", ca: cert }, (res) => {
        let data = "";
        res.on("data", (d: Buffer) => (data += d.toString()));
        res.on("end", () => resolve(data));
      });
      req.on("error", reject);
      req.end();
    });
    expect(JSON.parse(body)).toMatchObject({ name: "b", url: "/over-h1" });
  });

  it("serves a client offering none of its ALPN protocols without ALPN, as Envoy (no TLS inspector here)", async () => {
    expect(await alpnGet(port, ["istio-peer-exchange", "istio"], { servername: "localhost", ca: cert })).toBe(
      "false HTTP/1.1 200 OK",
    );
  });

  it("rejects a listener whose certificate is not one", async () => {
    const bad = {
      listeners: [tlsListener("not a cert", "not a key")],
      routes: [routeConfig([{ match: { prefix: "/" }, route: { cluster: "b" } }])],
      clusters: [cluster("b", [b.port])],
    };
    await expect(engine.apply(bad)).rejects.toThrow(ConfigError);
    await expect(engine.apply(bad)).rejects.toThrow(
      /Listener "http": filter_chains\[0\]\.transport_socket: invalid TLS certificate/,
    );
  });
});

describe("a TLS listener's tls_params (Istio's Gateway minProtocolVersion, maxProtocolVersion, cipherSuites)", () => {
  let b: Backend;
  let engine: Engine;
  let pair: { cert: string; key: string };
  beforeAll(async () => {
    b = await backend("b");
    pair = await selfSigned();
  });
  afterAll(async () => {
    await engine?.stop();
    await b.close();
  });

  const withParams = (params: Record<string, unknown>) => {
    const l = tlsListener(pair.cert, pair.key);
    const chain = (l.filter_chains as { transport_socket: { typed_config: { common_tls_context: object } } }[])[0]!;
    Object.assign(chain.transport_socket.typed_config.common_tls_context, { tls_params: params });
    return {
      listeners: [l],
      routes: [routeConfig([{ match: { prefix: "/" }, route: { cluster: "b" } }])],
      clusters: [cluster("b", [b.port])],
    };
  };
  /** A handshake with the client's limits: the protocol agreed, or the error. */
  const handshake = (port: number, opts: Record<string, unknown>) =>
    new Promise<string>((resolve) => {
      const s = tlsConnect({ host: "127.0.0.1", port, servername: "localhost", ca: pair.cert, ...opts }, () => {
        resolve(`${s.getProtocol()} ${s.getCipher().name}`);
        s.end();
      });
      s.on("error", (e) => resolve(`error: ${e.message}`));
    });

  it("refuses a client below the minimum version, and serves one at it", async () => {
    let port: number;
    ({ engine, port } = await startEngine(withParams({ tls_minimum_protocol_version: "TLSv1_3" })));
    expect(await handshake(port, { maxVersion: "TLSv1.2" })).toMatch(/^error: /);
    expect(await handshake(port, {})).toMatch(/^TLSv1\.3 /);
  });

  it("offers only the listed TLS 1.2 cipher suites, an equal-preference group's each", async () => {
    await engine?.stop();
    let port: number;
    const suites = ["[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]"];
    ({ engine, port } = await startEngine(
      withParams({ tls_maximum_protocol_version: "TLSv1_2", cipher_suites: suites }),
    ));
    expect(await handshake(port, { ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384" })).toMatch(/^error: /);
    expect(await handshake(port, { ciphers: "ECDHE-ECDSA-CHACHA20-POLY1305" })).toBe(
      "TLSv1.2 ECDHE-ECDSA-CHACHA20-POLY1305",
    );
    expect(await handshake(port, {})).toBe("TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256");
  });

  it.each([
    [
      { cipher_suites: ["TLS_AES_128_GCM_SHA256"] },
      /cipher_suites\[0\]: "TLS_AES_128_GCM_SHA256" is not a TLS 1\.0-1\.2/,
    ],
    [{ cipher_suites: ["NOPE-CIPHER"] }, /cipher_suites\[0\]: "NOPE-CIPHER" is not/],
    [
      { tls_minimum_protocol_version: "TLSv1_3", tls_maximum_protocol_version: "TLSv1_2" },
      /tls_minimum_protocol_version: TLSv1\.3 is above the maximum TLSv1\.2/,
    ],
    [{ ecdh_curves: ["P-256"] }, /tls_params\.ecdh_curves: not supported/],
  ])("NACKs %j, naming the field", async (params, message) => {
    await expect(engine.apply({ version: "x", ...withParams(params) })).rejects.toThrow(message);
  });
});
