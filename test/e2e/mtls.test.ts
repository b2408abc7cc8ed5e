// Mutual TLS between sidecars, all of it rendered by discovery: a real `weft discovery` (in this process) with its
// mesh CA on :15012, two real agents (their engines as child processes) that get their workload certificates from it
// with their ServiceAccount tokens and their config over xDS on :15012, and Istio's YAML. The client sidecar (sleep)
// originates ISTIO_MUTUAL by auto mTLS (the server's endpoint is labelled tlsMode istio), the server sidecar
// (httpbin) terminates it as PeerAuthentication says. What a user sees: status codes, connection resets, and the
// caller's SPIFFE ID in x-forwarded-client-cert as the app receives it. Loopback addresses 127.0.61.x.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { connect as tlsConnect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../hack/paths.js";
import { generateCa, issueCert, type KeyPair } from "../../operator/runtime/pki.js";
import { LocalAuthenticator, mintLocalToken } from "../../operator/discovery/ca/authn.js";
import { startDiscovery, type Discovery } from "../../operator/discovery/server.js";
import { startXdsAgent, type XdsAgent } from "../../proxy/agent/xds-main.js";
import { backend, type Backend } from "../support/engine/helpers.js";

const ENGINE = join(process.cwd(), "dist/proxy/engine/child.js");
const D = "127.0.61.1";
const CLIENT = "127.0.61.11";
const SERVER = "127.0.61.12";
const SLEEP = "spiffe://cluster.local/ns/default/sa/sleep";
const HTTPBIN = "spiffe://cluster.local/ns/default/sa/httpbin";
const HOST = "httpbin.default.svc.cluster.local:8000";
/** The name of the app's own TLS certificate (from a CA of its own, not the mesh's). */
const SECURE_NAME = "secure.httpbin.example";

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve(probe()).catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Reply {
  status: number;
  /** The x-forwarded-client-cert header the app received. */
  xfcc: string | undefined;
}

/** An HTTPS request over the client's own TLS (ALPN http/1.1, as curl offers it), trusting only the app's CA: the
 * response's status line and body, or the connection's error. */
/** `appCa` undefined: a client that checks no certificate (it would take any server's). */
function httpsGet(host: string, port: number, appCa: string | undefined): Promise<string> {
  return new Promise((resolve) => {
    const trust = appCa === undefined ? { rejectUnauthorized: false } : { ca: appCa };
    const socket = tlsConnect({ host, port, servername: SECURE_NAME, ...trust, ALPNProtocols: ["http/1.1"] }, () =>
      socket.write(`GET / HTTP/1.1\r\nhost: ${SECURE_NAME}\r\nconnection: close\r\n\r\n`),
    );
    const chunks: Buffer[] = [];
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString();
      resolve(text ? `${text.split("\r\n")[0] ?? ""} ${text.slice(text.indexOf("\r\n\r\n") + 4)}` : "closed");
    });
    socket.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/** One HTTP/1.1 request on a new connection: the status and what the app saw, or the connection's error. */
function get(host: string, port: number, authority: string): Promise<Reply | string> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: "/", headers: { host: authority }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString();
        let xfcc: string | undefined;
        try {
          xfcc = (JSON.parse(body) as { headers: Record<string, string> }).headers["x-forwarded-client-cert"];
        } catch {
          xfcc = undefined;
        }
        resolve({ status: res.statusCode ?? 0, xfcc });
      });
    });
    req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });
}

describe("sidecar mTLS rendered by discovery (auto mTLS, PeerAuthentication, DestinationRule tls)", () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-mtls-"));
  const configDir = join(dir, "config");
  let discovery: Discovery;
  let app: Backend;
  let outside: Backend;
  let outboundPort = 0;
  const agents: XdsAgent[] = [];
  /** An app that serves TLS itself, on a TCP (protocol TLS) port of httpbin's. */
  let secureApp: HttpsServer;
  let securePort = 0;
  let appCa: KeyPair;

  const write = (name: string, yaml: string) => writeFileSync(join(configDir, name), yaml);
  const remove = (name: string) => rmSync(join(configDir, name), { force: true });
  /** Through the client's sidecar (a mesh peer, identity sleep). */
  const viaMesh = (authority = HOST) => get(CLIENT, outboundPort, authority);
  /** Straight to the server's sidecar, as a client outside the mesh would. */
  const plaintext = () => get(SERVER, app.port, "httpbin");

  beforeAll(async () => {
    mkdirSync(configDir);
    app = await backend("httpbin");
    outside = await backend("outside");
    appCa = await generateCa("the app's own CA", 1);
    const appCert = await issueCert(appCa, {
      commonName: SECURE_NAME,
      dnsNames: [SECURE_NAME],
      usage: "server",
      days: 1,
    });
    secureApp = createHttpsServer({ cert: appCert.certPem, key: appCert.keyPem }, (_req, res) =>
      res.end("served by the app's own TLS"),
    );
    await new Promise<void>((r) => secureApp.listen(0, "127.0.0.1", r));
    securePort = (secureApp.address() as { port: number }).port;
    outboundPort = await freePort();
    write(
      "services.yaml",
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: httpbin, namespace: default }
spec:
  hosts: [httpbin.default.svc.cluster.local]
  ports: [{ number: 8000, name: http, protocol: HTTP }, { number: 8443, name: tls, protocol: TLS }]
  resolution: STATIC
  workloadSelector: { labels: { app: httpbin } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: httpbin, namespace: default }
spec:
  address: ${SERVER}
  ports: { http: ${app.port}, tls: ${securePort} }
  labels: { app: httpbin, security.istio.io/tlsMode: istio }
  serviceAccount: httpbin
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: sleep, namespace: default }
spec: { address: ${CLIENT}, labels: { app: sleep, security.istio.io/tlsMode: istio }, serviceAccount: sleep }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: outside, namespace: default }
spec:
  hosts: [outside.default.svc.cluster.local]
  ports: [{ number: 8001, name: http, protocol: HTTP, targetPort: ${outside.port} }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1 }]
`,
    );
    const key = Buffer.alloc(32, 61);
    const ca = await generateCa("weft mtls e2e root", 1);
    discovery = await startDiscovery({
      configDir,
      address: D,
      xdsPort: 0,
      monitoringPort: 0,
      pushDebounceMs: 20,
      secure: {
        port: 0,
        ca,
        authn: new LocalAuthenticator(key),
        ttlMs: 3600_000,
        names: { dnsNames: ["localhost"], ips: [D] },
      },
      log: (await import("pino")).default({ level: "silent" }),
    });
    const rootCertFile = join(dir, "root-cert.pem");
    writeFileSync(rootCertFile, ca.certPem);
    const secure = `${D}:${discovery.securePort}`;
    for (const [ip, sa, outbound] of [
      [SERVER, "httpbin", undefined],
      [CLIENT, "sleep", outboundPort],
    ] as const) {
      const tokenFile = join(dir, `${sa}.token`);
      writeFileSync(tokenFile, mintLocalToken(key, { namespace: "default", serviceAccount: sa }, 3600_000), {
        mode: 0o600,
      });
      agents.push(
        await startXdsAgent({
          discoveryAddress: secure,
          caAddress: secure,
          tokenFile,
          rootCertFile,
          nodeId: `sidecar~${ip}~${sa}.default~default.svc.cluster.local`,
          binaryPath: ENGINE,
          appAddress: "127.0.0.1",
          ...(outbound ? { outboundPort: outbound } : {}),
          adminPort: 0,
          statsPort: false,
          readyPort: 0,
          drainSeconds: 0.2,
          log: () => undefined,
        }),
      );
    }
    await until("both sidecars configured over mTLS", () => agents.every((a) => a.xds.applied !== "")).catch(
      (e: Error) => {
        // Why not: a NACK or a connection error, as the agents report them.
        throw new Error(`${e.message}: ${agents.map((a) => a.xds.lastError ?? "no error").join("; ")}`);
      },
    );
  }, 60_000);

  afterAll(async () => {
    for (const a of agents) await a.stop();
    await discovery?.close();
    await app?.close();
    await outside?.close();
    secureApp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Waits until the mesh client sees `status` (a config change reached both sidecars). */
  const meshAnswers = (status: number) =>
    until(`the mesh client to get ${status}`, async () => {
      const r = await viaMesh();
      return typeof r !== "string" && r.status === status ? r : undefined;
    });

  it("PERMISSIVE (the default): a plaintext client and an mTLS peer both reach the workload; the app sees the peer's SPIFFE ID", async () => {
    const plain = await plaintext();
    expect(plain).toMatchObject({ status: 200, xfcc: undefined });
    const mesh = await viaMesh();
    expect(mesh).toMatchObject({ status: 200 });
    // The server sidecar verified the client's certificate: its URI SAN is the caller's ServiceAccount's SPIFFE ID.
    expect((mesh as Reply).xfcc).toMatch(new RegExp(`^By=${HTTPBIN};Hash=[0-9a-f]{64};Subject="";URI=${SLEEP}$`));
  });

  it("PERMISSIVE passes a client's own TLS (no mesh ALPN) to a TCP port through to the app, as Istio's plain TLS chain", async () => {
    // The client trusts only the app's CA and checks its name: a 200 means the TLS ended at the app, not the sidecar.
    expect(await httpsGet(SERVER, securePort, appCa.certPem)).toBe("HTTP/1.1 200 OK served by the app's own TLS");
    // An HTTP port has no such chain (Istio's "explicitly declared as HTTP"): the client's TLS finds none, and is closed.
    expect(await httpsGet(SERVER, app.port, appCa.certPem)).toMatch(/^(ECONNRESET|closed)$/);
    // The mesh's mTLS still ends at the sidecar, which sees the caller's identity.
    expect(((await viaMesh()) as Reply).xfcc).toMatch(new RegExp(`;URI=${SLEEP}$`));
  });

  it("auto mTLS sends plaintext to an endpoint outside the mesh (no tlsMode label)", async () => {
    expect(await viaMesh("outside.default.svc.cluster.local:8001")).toMatchObject({ status: 200, xfcc: undefined });
  });

  it("STRICT (Istio's PeerAuthentication): plaintext is refused at the TLS layer, the mesh peer gets through as sleep", async () => {
    write(
      "peer-authentication.yaml",
      `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: istio-system
spec:
  mtls:
    mode: STRICT
`,
    );
    const refused = await until("plaintext to be refused", async () => {
      const r = await plaintext();
      return typeof r === "string" ? r : undefined;
    });
    expect(refused).toMatch(/^(ECONNRESET|socket hang up)$/);
    const mesh = await viaMesh();
    expect(mesh).toMatchObject({ status: 200 });
    expect((mesh as Reply).xfcc).toMatch(new RegExp(`;URI=${SLEEP}$`));
  }, 40_000);

  it("STRICT: a client's own TLS is refused too (every TLS connection must be the mesh's mTLS)", async () => {
    // The sidecar may answer the handshake with its mesh certificate (as Envoy does: its ALPN isn't required to
    // match), which this client doesn't trust...
    expect(await httpsGet(SERVER, securePort, appCa.certPem)).toMatch(
      /^(ECONNRESET|socket hang up|EPROTO|ERR_SSL_.*|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|ERR_TLS_CERT_ALTNAME_INVALID)$/,
    );
    // ...and a client that takes any certificate, but has no mesh certificate of its own, gets no answer either.
    expect(await httpsGet(SERVER, securePort, undefined)).toMatch(
      /^(ECONNRESET|socket hang up|EPROTO|ERR_SSL_.*|closed)$/,
    );
  });

  it("a PeerAuthentication with an unsupported field (forced past the webhook) is rejected naming it; STRICT stays enforced", async () => {
    write(
      "peer-authentication.yaml",
      "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: istio-system }\nspec: { mtls: { mode: DISABLE }, targetRef: { kind: Service, name: httpbin } }\n",
    );
    const rejected = await until("discovery to reject the policy", async () => {
      const r = (await (await fetch(`http://${D}:${discovery.monitoringPort}/debug/configz`)).json()) as {
        rejected: { kind: string; errors: string[]; keptPrevious?: boolean }[];
      };
      return r.rejected.find((x) => x.kind === "PeerAuthentication");
    });
    expect(rejected).toMatchObject({
      errors: ["spec.targetRef: not supported by Weft (use spec.selector)"],
      keptPrevious: true,
    });
    expect(await plaintext()).toMatch(/^(ECONNRESET|socket hang up)$/);
    expect(await viaMesh()).toMatchObject({ status: 200 });
  }, 40_000);

  it("a DestinationRule's tls mode overrides auto mTLS: DISABLE is refused by STRICT, ISTIO_MUTUAL gets through", async () => {
    const rule = (mode: string) =>
      `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: httpbin, namespace: default }\nspec:\n  host: httpbin.default.svc.cluster.local\n  trafficPolicy: { tls: { mode: ${mode} } }\n`;
    write("destination-rule.yaml", rule("DISABLE"));
    expect(await meshAnswers(503)).toMatchObject({ status: 503 });
    write("destination-rule.yaml", rule("ISTIO_MUTUAL"));
    const mesh = await meshAnswers(200);
    expect(mesh.xfcc).toMatch(new RegExp(`;URI=${SLEEP}$`));
    remove("destination-rule.yaml");
  }, 40_000);

  it("a workload's port-level DISABLE under mesh-wide STRICT takes plaintext again, from the mesh client too", async () => {
    write(
      "port-level.yaml",
      `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: httpbin, namespace: default }
spec:
  selector: { matchLabels: { app: httpbin } }
  mtls: { mode: UNSET }
  portLevelMtls:
    ${app.port}: { mode: DISABLE }
`,
    );
    const plain = await until("plaintext to be accepted", async () => {
      const r = await plaintext();
      return typeof r === "string" ? undefined : r;
    });
    expect(plain).toMatchObject({ status: 200, xfcc: undefined });
    // Auto mTLS follows the destination's policy (as Istio's endpoint metadata does): the mesh client sends plaintext.
    const mesh = await until("the mesh client to send plaintext", async () => {
      const r = await viaMesh();
      return typeof r !== "string" && r.status === 200 && r.xfcc === undefined ? r : undefined;
    });
    expect(mesh).toMatchObject({ status: 200, xfcc: undefined });
    remove("port-level.yaml");
  }, 40_000);
});
