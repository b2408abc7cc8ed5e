// discovery's :15012 from the outside: the mesh CA over gRPC/TLS (token checked, CSR checked, SPIFFE SAN only) and
// ADS over mTLS (no certificate, or a node id claiming another namespace: refused).
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { status, type ServiceError } from "@grpc/grpc-js";
import { meshCredentials, requestCertificate, type WorkloadCert } from "../../../proxy/agent/ca-client.js";
import { adsChannel } from "../../../proxy/xds/client.js";
import { STREAM_PATH, decodeResponse, encodeRequest, type DiscoveryResponse } from "../../../proxy/xds/ads-wire.js";
import type { AdsChannel } from "../../../proxy/xds/client.js";
import { TYPE } from "../../../proxy/xds/types.js";
import { generateCa, type KeyPair } from "../../runtime/pki.js";
import { startDiscovery, type Discovery } from "../server.js";
import { LocalAuthenticator, mintLocalToken } from "./authn.js";

let dir: string;
let discovery: Discovery;
let ca: KeyPair;
const key = Buffer.alloc(32, 7);
const sleep = { namespace: "default", serviceAccount: "sleep" };
const token = (ttlMs = 60_000, aud?: string) => mintLocalToken(key, sleep, ttlMs, aud);
let address: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "weft-ca-"));
  ca = await generateCa("weft-mesh-ca", 3650);
  discovery = await startDiscovery({
    configDir: dir,
    address: "127.0.0.1",
    xdsPort: 0,
    monitoringPort: 0,
    secure: {
      port: 0,
      ca,
      authn: new LocalAuthenticator(key),
      ttlMs: 60_000,
      names: { dnsNames: ["weftd.weft-system.svc"], ips: ["127.0.0.1"] },
    },
    log: (await import("pino")).default({ level: "silent" }),
  });
  address = `127.0.0.1:${discovery.securePort}`;
}, 30_000);

afterAll(async () => {
  await discovery?.close();
  await rm(dir, { recursive: true, force: true });
});

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected a refusal");
    },
    (err: ServiceError) => ({ code: err.code, details: err.details }),
  );

describe("the mesh CA on :15012", () => {
  it("signs a CSR with the token's SPIFFE ID as the only SAN, for the CA's lifetime at most", async () => {
    const got = await requestCertificate({ address, rootPem: ca.certPem, ttlSeconds: 3600 }, token());
    const leaf = new X509Certificate(got.certChainPem);
    expect(leaf.subjectAltName).toBe("URI:spiffe://cluster.local/ns/default/sa/sleep");
    expect(got.identity).toBe("spiffe://cluster.local/ns/default/sa/sleep");
    expect(leaf.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(got.notAfter - Date.now()).toBeLessThanOrEqual(60_000);
    expect(got.notAfter - Date.now()).toBeGreaterThan(30_000);
    expect(leaf.checkPrivateKey((await import("node:crypto")).createPrivateKey(got.keyPem))).toBe(true);
  });

  it("refuses an expired token, a wrong audience, a forged one, and none, saying why", async () => {
    const o = { address, rootPem: ca.certPem };
    expect(await refusal(requestCertificate(o, token(-1000)))).toEqual({
      code: status.UNAUTHENTICATED,
      details: "token refused: expired",
    });
    expect(await refusal(requestCertificate(o, token(60_000, "kubernetes")))).toEqual({
      code: status.UNAUTHENTICATED,
      details: "token refused: audience kubernetes is not istio-ca",
    });
    const forged = mintLocalToken(Buffer.alloc(32, 8), sleep, 60_000);
    expect((await refusal(requestCertificate(o, forged))).details).toBe("token refused: signature does not verify");
  });

  it("refuses a CSR asking for another identity (another namespace's)", async () => {
    const { createCsr } = await import("../../../proxy/agent/csr.js");
    const { csrPem } = await createCsr(["spiffe://cluster.local/ns/prod/sa/sleep"]);
    const { createCertificate } = await import("./service.js");
    const o = { ca, authn: new LocalAuthenticator(key), trustDomain: () => "cluster.local", ttlMs: 60_000 };
    await expect(createCertificate(o, token(), { csr: csrPem, validity_duration: 0 })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      message:
        "CSR asks for SAN url:spiffe://cluster.local/ns/prod/sa/sleep; only spiffe://cluster.local/ns/default/sa/sleep may be issued",
    });
  });

  it("refuses a client that doesn't trust the mesh root (TLS with the mesh CA's serving certificate)", async () => {
    const other = await generateCa("other", 3650);
    const err = await refusal(requestCertificate({ address, rootPem: other.certPem, deadlineMs: 5000 }, token()));
    expect(err.code).toBe(status.UNAVAILABLE);
  });
});

describe("ADS over mTLS on :15012", () => {
  let cert: WorkloadCert;
  beforeAll(async () => {
    cert = await requestCertificate({ address, rootPem: ca.certPem }, token());
  });

  /** The first thing the stream says: a response, or the status it ends with. */
  function firstAnswer(ch: AdsChannel, nodeId: string): Promise<DiscoveryResponse | { code: number; details: string }> {
    const call = ch.call(STREAM_PATH);
    return new Promise<DiscoveryResponse | { code: number; details: string }>((resolve) => {
      call.onMessage = (m) => {
        resolve(decodeResponse(m));
        call.cancel();
      };
      call.onStatus = (st) => resolve(st);
      call.write(
        encodeRequest({
          node: { id: nodeId },
          type_url: TYPE.cluster,
          resource_names: [],
          version_info: "",
          response_nonce: "",
        }),
      );
    }).finally(() => ch.close());
  }

  const mtls = (withCert: boolean, nodeId: string) =>
    firstAnswer(adsChannel(address, { tls: meshCredentials(ca.certPem, withCert ? cert : undefined) }), nodeId);

  it("serves a proxy whose certificate is of its node's namespace", async () => {
    const r = await mtls(true, "sidecar~127.0.0.1~sleep-1.default~default.svc.cluster.local");
    expect(r).toMatchObject({ type_url: TYPE.cluster });
  });

  it("refuses a proxy without a certificate", async () => {
    expect(await mtls(false, "sidecar~127.0.0.1~sleep-1.default~default.svc.cluster.local")).toEqual({
      code: status.PERMISSION_DENIED,
      details: "no client certificate: xDS on this port needs the mesh CA's workload certificate",
    });
  });

  it("refuses a node id claiming another namespace than its certificate's", async () => {
    expect(await mtls(true, "sidecar~127.0.0.1~sleep-1.prod~prod.svc.cluster.local")).toEqual({
      code: status.PERMISSION_DENIED,
      details:
        "node id sidecar~127.0.0.1~sleep-1.prod~prod.svc.cluster.local claims namespace prod, its certificate is of namespace default",
    });
  });

  it("keeps 15010 plaintext", async () => {
    const r = await firstAnswer(
      adsChannel(`127.0.0.1:${discovery.xdsPort}`),
      "sidecar~127.0.0.1~x.prod~prod.svc.cluster.local",
    );
    expect(r).toMatchObject({ type_url: TYPE.cluster });
  });
});

describe("a CA rotation's overlap", () => {
  it("accepts a workload certificate of the old root while the trust bundle carries both, and not after", async () => {
    const { workloadIdentityOf } = await import("./secure.js");
    const { signCsr } = await import("../../runtime/pki.js");
    const { createCsr } = await import("../../../proxy/agent/csr.js");
    const next = await generateCa("weft-mesh-ca-next", 3650);
    const uri = "spiffe://cluster.local/ns/default/sa/sleep";
    const { csrPem } = await createCsr([uri]);
    const der = (pem: string) => new X509Certificate(pem).raw;
    const old = der(await signCsr(ca, csrPem, uri, 60_000));
    const renewed = der(await signCsr(next, csrPem, uri, 60_000));
    const bundle = ca.certPem + next.certPem;
    expect(workloadIdentityOf(old, bundle)).toEqual({ uri, namespace: "default" });
    expect(workloadIdentityOf(renewed, bundle)).toEqual({ uri, namespace: "default" });
    expect(workloadIdentityOf(old, next.certPem)).toEqual({ error: "client certificate not issued by the mesh CA" });
  });
});
