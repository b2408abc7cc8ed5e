// A DestinationRule's tls.credentialName for sidecars, as istiod serves it: only the sidecars a rule with a
// workloadSelector selects, of the rule's namespace, whose ServiceAccount may list Secrets there (the review discovery
// makes in Kubernetes mode; the API server's answer stands in as a function here). Proxies on 15012 with workload
// certificates, over incremental xDS, each asking for the Secret by name: the selected, allowed sidecar gets it (its
// cluster's client certificate); a sidecar the rule doesn't select is served at once, unreviewed, and gets none; a
// selected sidecar whose ServiceAccount is denied gets none, and /debug/syncz says why; a sidecar of another
// namespace whose own rule names the Secret gets nothing of it, even allowed. The answer is asked again while the
// sidecar is connected: an allowance taken away withdraws its Secret.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DiscoveryResponse } from "../../proxy/xds/ads.js";
import { decodeResource } from "../../proxy/xds/codec.js";
import { TYPE } from "../../proxy/xds/types.js";
import { loopbackEntry, secretYaml } from "../../test/support/discovery/mesh.js";
import {
  credentialsDenied,
  meshAds,
  reviewedDiscovery,
  type ReviewedDiscovery,
} from "../../test/support/discovery/reviewed.js";
import { until } from "../../test/support/engine/helpers.js";
import { generateCa, issueCert, type KeyPair } from "../runtime/pki.js";

const NAMES = ["kubernetes://pay-client", "kubernetes://pay-client-cacert"];
const CLUSTER = "outbound|80||pay.example";
const node = (pod: string, ns: string) => `sidecar~127.0.0.1~${pod}.${ns}~${ns}.svc.cluster.local`;

const entry = (name: string, ns: string, labels: string) => `---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: ${name}, namespace: ${ns} }
spec: { address: 10.0.0.9, labels: { ${labels} } }
`;

/** MUTUAL origination with Secret pay-client for the workloads labelled app=a of `ns`. */
const rule = (ns: string) => `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: pay-a, namespace: ${ns} }
spec:
  host: pay.example
  workloadSelector: { matchLabels: { app: a } }
  trafficPolicy: { tls: { mode: MUTUAL, credentialName: pay-client } }
`;

const config = [
  loopbackEntry("pay", "pay.example", 8080, "shop"),
  rule("shop"),
  rule("other"),
  entry("a-0", "shop", "app: a"),
  entry("a-1", "shop", "app: a"),
  entry("b-0", "shop", "app: b"),
  entry("a-0", "other", "app: a"),
].join("");

interface Sidecar {
  responses: DiscoveryResponse[];
  /** The resources of the latest response of a type (decoded), or undefined before one came. */
  latest(type: string): Record<string, unknown>[] | undefined;
  close(): void;
}

/** Discovery serving `config` and Secret pay-client of shop (its client certificate `client`). */
async function start(deniedTtlMs?: number): Promise<{ d: ReviewedDiscovery; client: KeyPair }> {
  const dir = mkdtempSync(join(tmpdir(), "weft-sidecar-review-"));
  const pay = await generateCa("pay root", 1);
  const client = await issueCert(pay, { commonName: "shop-client", usage: "client", days: 1 });
  const secret = secretYaml("pay-client", "shop", {
    "tls.crt": client.certPem,
    "tls.key": client.keyPem,
    "ca.crt": pay.certPem,
  });
  writeFileSync(join(dir, "config.yaml"), config + secret);
  return { d: await reviewedDiscovery(dir, deniedTtlMs), client };
}

/** A sidecar on 15012 with a certificate of `ns`/`serviceAccount`: all clusters, and the Secret by name. */
async function sidecar(d: ReviewedDiscovery, pod: string, ns: string, serviceAccount: string): Promise<Sidecar> {
  const cert = await d.certFor(ns, serviceAccount);
  const { responses, close } = meshAds(d, cert, node(pod, ns), [
    [TYPE.cluster, []],
    [TYPE.secret, NAMES],
  ]);
  const latest = (type: string) =>
    responses
      .filter((r) => r.type_url === type)
      .at(-1)
      ?.resources.map((r) => decodeResource(r));
  return { responses, latest, close };
}

describe("sidecar credentialName Secrets from a selector DestinationRule, after the ServiceAccount's review", () => {
  let d: ReviewedDiscovery;
  let client: KeyPair;

  beforeAll(async () => {
    ({ d, client } = await start());
  }, 30_000);
  afterAll(() => d.discovery.close());

  const pem = (b64: unknown) => Buffer.from(String(b64), "base64").toString();
  it("a sidecar the rule doesn't select is served at once, without a review, and gets no Secret", async () => {
    const b = await sidecar(d, "b-0", "shop", "pay-b");
    await until(() => b.latest(TYPE.secret) !== undefined && b.latest(TYPE.cluster) !== undefined);
    expect(b.latest(TYPE.secret)).toEqual([]);
    expect(d.reviews).toEqual([]);
    const pay = b.latest(TYPE.cluster)?.find((c) => c["name"] === CLUSTER);
    expect(pay).toBeDefined();
    expect(pay?.["transport_socket"]).toBeUndefined(); // no rule of its: plain HTTP, as before
    b.close();
  });

  it("a selected sidecar whose ServiceAccount may list Secrets gets them: its cluster's client certificate is the Secret's", async () => {
    const a = await sidecar(d, "a-0", "shop", "pay-a");
    await until(() => d.reviews.length === 1);
    expect([d.reviews[0]?.user, d.reviews[0]?.namespace]).toEqual(["system:serviceaccount:shop:pay-a", "shop"]);
    expect(a.responses).toEqual([]); // its first response waits for the answer
    d.reviews[0]?.answer({ allowed: true });
    await until(() => (a.latest(TYPE.secret)?.length ?? 0) > 0);
    const secrets = a.latest(TYPE.secret) ?? [];
    expect(secrets.map((s) => s["name"]).sort()).toEqual(NAMES);
    const pair = secrets.find((s) => s["name"] === NAMES[0]) as {
      tls_certificate: { certificate_chain: { inline_bytes: string } };
    };
    expect(pem(pair.tls_certificate.certificate_chain.inline_bytes)).toBe(client.certPem);
    const pay = a.latest(TYPE.cluster)?.find((c) => c["name"] === CLUSTER);
    expect(JSON.stringify(pay?.["transport_socket"])).toContain(
      `"tls_certificate_sds_secret_configs":[{"name":"${NAMES[0]}"`,
    );
    a.close();
  });

  it("a selected sidecar whose ServiceAccount is denied gets no Secret, and syncz says why", async () => {
    const a = await sidecar(d, "a-1", "shop", "pay-denied");
    await until(() => d.reviews.length === 2);
    d.reviews[1]?.answer({ allowed: false, reason: "" });
    await until(() => a.latest(TYPE.secret) !== undefined);
    expect(a.latest(TYPE.secret)).toEqual([]);
    expect(await credentialsDenied(d, node("a-1", "shop"))).toBe(
      "pay-denied/shop is not authorized to read secrets: no RBAC rule allows it",
    );
    a.close();
  });

  it("a sidecar of another namespace whose own rule names the Secret gets nothing of it, even allowed there", async () => {
    const o = await sidecar(d, "a-0", "other", "other-a");
    await until(() => d.reviews.length === 3);
    expect([d.reviews[2]?.user, d.reviews[2]?.namespace]).toEqual(["system:serviceaccount:other:other-a", "other"]);
    d.reviews[2]?.answer({ allowed: true });
    await until(() => o.latest(TYPE.secret) !== undefined);
    expect(o.latest(TYPE.secret)).toEqual([]);
    o.close();
  });
});

describe("a selected sidecar's answer is asked again while it is connected, as a gateway's", () => {
  let d: ReviewedDiscovery;

  // Denials cached 100 ms, allowances 500 ms.
  beforeAll(async () => {
    ({ d } = await start(100));
  }, 30_000);
  afterAll(() => d.discovery.close());

  it("an allowance taken away reaches the connected sidecar: its Secret is withdrawn, and syncz says why", async () => {
    const a = await sidecar(d, "a-0", "shop", "pay-revoked");
    const b = await sidecar(d, "b-0", "shop", "pay-unselected");
    await until(() => d.reviews.length === 1);
    d.reviews[0]?.answer({ allowed: true });
    await until(() => a.latest(TYPE.secret)?.length === 2);
    await until(() => d.reviews.length === 2, 5_000); // the allowance expired: asked again
    d.reviews[1]?.answer({ allowed: false, reason: "" });
    await until(() => a.latest(TYPE.secret)?.length === 0);
    expect(await credentialsDenied(d, node("a-0", "shop"))).toBe(
      "pay-revoked/shop is not authorized to read secrets: no RBAC rule allows it",
    );
    // Only the selected sidecar's ServiceAccount was ever asked about, though the other stayed connected.
    expect(d.reviews.map((r) => r.user)).toEqual(Array(2).fill("system:serviceaccount:shop:pay-revoked"));
    a.close();
    b.close();
  });
});
