// A real sidecar engine for authorization tests: discovery's translate() for one workload (httpbin in namespace
// foo, an HTTP and a TCP port) with the given AuthorizationPolicy YAML, shaped for local mode (interception
// NONE: inbound listeners bound on the workload's own loopback address), its HTTP port serving mTLS from a test
// mesh CA (client certificates optional, as PERMISSIVE with TLS), and clients that call it with a SPIFFE identity.
import { request as httpsRequest } from "node:https";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { Engine } from "../../../proxy/engine/engine.js";
import { localShape } from "../../../proxy/agent/local-shape.js";
import { translate } from "../../../operator/discovery/translate/index.js";
import { parseNodeId } from "../../../operator/discovery/translate/proxy.js";
import { normalise } from "../../../operator/discovery/model/normalise.js";
import { parseYaml } from "../discovery/bookinfo.js";
import { backend, type Backend } from "../engine/helpers.js";
import { testCa, type KeyPair, type TestCa } from "../engine/mesh-certs.js";
import { TYPE } from "../../../proxy/xds/types.js";

type Json = Record<string, unknown>;

/** The sidecar's own loopback address (local mode gives each workload one). */
export const SIDECAR_IP = "127.0.0.44";
export const TRUST_DOMAIN = "cluster.local";

export interface Call {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  /** The caller's SPIFFE principal without `spiffe://` (`cluster.local/ns/default/sa/sleep`); none: no certificate. */
  principal?: string;
  /** The caller's source address (a loopback address). */
  from?: string;
}

const tcpAppSockets = new WeakMap<Server, Set<Socket>>();

export class AuthzSidecar {
  readonly engine = new Engine({ adminPort: 0, statsPort: 0, readyPort: 0, drainTimeoutMs: 200 });
  private version = 0;
  private certs = new Map<string, Promise<KeyPair>>();
  private constructor(
    readonly app: Backend,
    private readonly tcpApp: Server,
    readonly ca: TestCa,
    private readonly serving: KeyPair,
  ) {}

  static async start(): Promise<AuthzSidecar> {
    const app = await backend("httpbin");
    const open = new Set<Socket>();
    const tcpApp = createServer((s) => {
      open.add(s);
      s.on("close", () => open.delete(s));
      s.on("error", () => undefined);
      s.end("pong");
    });
    tcpAppSockets.set(tcpApp, open);
    await new Promise<void>((resolve) => tcpApp.listen(0, "127.0.0.1", resolve));
    const ca = await testCa();
    const serving = await ca.issue({ uri: `spiffe://${TRUST_DOMAIN}/ns/foo/sa/httpbin`, dns: "httpbin.foo" });
    const s = new AuthzSidecar(app, tcpApp, ca, serving);
    await s.engine.start();
    return s;
  }

  get httpPort(): number {
    return this.app.port;
  }

  get tcpPort(): number {
    return (this.tcpApp.address() as AddressInfo).port;
  }

  /** The workload's config with these policies (YAML), as discovery translates it for the sidecar. */
  resources(policies: string): { version: string; listeners: unknown[]; clusters: unknown[] } {
    const yaml = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: httpbin, namespace: foo }
spec:
  hosts: [httpbin.foo.svc.cluster.local]
  ports: [{ number: 8000, name: http, protocol: HTTP }, { number: 9000, name: tcp, protocol: TCP }]
  resolution: STATIC
  workloadSelector: { labels: { app: httpbin } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: httpbin-v1, namespace: foo }
spec: { address: ${SIDECAR_IP}, ports: { http: ${this.httpPort}, tcp: ${this.tcpPort} }, labels: { app: httpbin, version: v1 } }
---
${policies}`;
    const { model } = normalise(parseYaml(yaml));
    const proxy = parseNodeId(`sidecar~${SIDECAR_IP}~httpbin-v1.foo~foo.svc.cluster.local`);
    const out = translate(model, proxy);
    const shaped = localShape(
      { listeners: out.listeners, routes: out.routes, clusters: out.clusters, endpoints: out.endpoints },
      { ip: SIDECAR_IP, appAddress: "127.0.0.1" },
    );
    const listeners = (shaped.listeners ?? [])
      .map((l) => l as Json)
      .filter((l) => String(l.name).startsWith("virtualInbound_"))
      .map((l) => (String(l.name) === `virtualInbound_${this.httpPort}` ? this.withMtls(l) : l));
    const clusters = (shaped.clusters ?? []).filter((c) => String((c as Json).name).startsWith("inbound|"));
    return { version: String(++this.version), listeners, clusters };
  }

  /** Applies the workload's config with these policies; throws the engine's NACK. */
  async apply(policies: string): Promise<void> {
    await this.engine.apply(this.resources(policies));
  }

  /** The HTTP chain serves TLS from the mesh CA, verifying client certificates when they are presented. */
  private withMtls(l: Json): Json {
    const chains = (l.filter_chains as Json[]).map((c) => ({
      ...c,
      transport_socket: {
        name: "envoy.transport_sockets.tls",
        typed_config: {
          "@type": TYPE.downstreamTlsContext,
          common_tls_context: {
            tls_certificates: [
              {
                certificate_chain: { inline_string: this.serving.cert },
                private_key: { inline_string: this.serving.key },
              },
            ],
            validation_context: { trusted_ca: { inline_string: this.ca.ca } },
            alpn_protocols: ["http/1.1"],
          },
        },
      },
    }));
    return { ...l, filter_chains: chains };
  }

  private cert(principal: string): Promise<KeyPair> {
    let c = this.certs.get(principal);
    if (!c) this.certs.set(principal, (c = this.ca.issue({ uri: `spiffe://${principal}` })));
    return c;
  }

  /** One HTTPS request to the sidecar's HTTP port: its status and body. */
  async call(c: Call = {}): Promise<{ status: number; body: string }> {
    const id = c.principal ? await this.cert(c.principal) : undefined;
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: SIDECAR_IP,
          port: this.httpPort,
          method: c.method ?? "GET",
          path: c.path ?? "/",
          headers: { host: "httpbin.foo", ...c.headers },
          localAddress: c.from,
          ca: this.ca.ca,
          cert: id?.cert,
          key: id?.key,
          servername: "httpbin.foo",
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (d: Buffer) => chunks.push(d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  /** A TCP connection to the sidecar's TCP port: what the app answered ("pong"), or "" when the proxy closed it. */
  tcp(from?: string): Promise<string> {
    return new Promise((resolve) => {
      const s = connect({ host: SIDECAR_IP, port: this.tcpPort, localAddress: from });
      const chunks: Buffer[] = [];
      s.on("data", (d: Buffer) => chunks.push(d));
      s.on("error", () => undefined);
      s.on("close", () => resolve(Buffer.concat(chunks).toString()));
      s.write("ping");
    });
  }

  async stop(): Promise<void> {
    await this.engine.stop();
    await this.app.close();
    for (const s of tcpAppSockets.get(this.tcpApp) ?? []) s.destroy();
    await new Promise<void>((resolve) => this.tcpApp.close(() => resolve()));
  }
}
