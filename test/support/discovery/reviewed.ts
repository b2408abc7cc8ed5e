// Test support: `weft discovery` in process with its mTLS port (15012) and the Secret review of Kubernetes mode, the
// API server's answer standing in as a function: each SubjectAccessReview waits in `reviews` until the test answers
// it. Proxies connect with workload certificates the local CA issues for any namespace and ServiceAccount.
import { pino } from "pino";
import { meshCredentials, requestCertificate, type WorkloadCert } from "../../../proxy/agent/ca-client.js";
import type { DiscoveryResponse } from "../../../proxy/xds/ads.js";
import { AdsClient } from "../../../proxy/xds/client.js";
import type { ReviewAnswer } from "../../../operator/discovery/ads/secret-access.js";
import { LocalAuthenticator, mintLocalToken } from "../../../operator/discovery/ca/authn.js";
import type { Discovery } from "../../../operator/discovery/server.js";
import { generateCa, type KeyPair } from "../../../operator/runtime/pki.js";
import { onLoopback } from "./start.js";

/** A review discovery asked for: may `user` list secrets in `namespace`? */
export interface PendingReview {
  user: string;
  namespace: string;
  answer(a: ReviewAnswer): void;
}

export interface ReviewedDiscovery {
  discovery: Discovery;
  /** host:port of the mTLS xDS port. */
  address: string;
  ca: KeyPair;
  reviews: PendingReview[];
  /** A workload certificate of `namespace`/`serviceAccount`. */
  certFor(namespace: string, serviceAccount: string): Promise<WorkloadCert>;
}

/** `deniedTtlMs`: how long a denial is cached (an allowance five times as long); istiod's minute by default. */
export async function reviewedDiscovery(configDir: string, deniedTtlMs?: number): Promise<ReviewedDiscovery> {
  const key = Buffer.alloc(32, 9);
  const ca = await generateCa("weft-mesh-ca", 1);
  const reviews: PendingReview[] = [];
  const discovery = await onLoopback({
    configDir,
    secure: {
      port: 0,
      ca,
      authn: new LocalAuthenticator(key),
      ttlMs: 60_000,
      names: { dnsNames: [], ips: ["127.0.0.1"] },
    },
    reviewSecrets: {
      review: (user, namespace) => new Promise((answer) => reviews.push({ user, namespace, answer })),
      ...(deniedTtlMs !== undefined ? { deniedTtlMs } : {}),
    },
    log: pino({ level: "silent" }),
  });
  const address = `127.0.0.1:${discovery.securePort}`;
  return {
    discovery,
    address,
    ca,
    reviews,
    certFor: (namespace, serviceAccount) =>
      requestCertificate({ address, rootPem: ca.certPem }, mintLocalToken(key, { namespace, serviceAccount }, 60_000)),
  };
}

/** An incremental xDS client over 15012 with `cert`, subscribed to each type with its names; it ACKs what it gets. */
export function meshAds(
  d: ReviewedDiscovery,
  cert: WorkloadCert,
  node: string,
  subscriptions: [type: string, names: string[]][],
): { responses: DiscoveryResponse[]; close(): void } {
  const responses: DiscoveryResponse[] = [];
  const ads = new AdsClient({
    server: d.address,
    node: { id: node, user_agent_name: "envoy" },
    credentials: () => meshCredentials(d.ca.certPem, cert),
    delta: true,
    backoffMs: false,
    onResponse: (r) => void responses.push(r),
  });
  for (const [type, names] of subscriptions) ads.subscribe(type, names);
  return { responses, close: () => ads.close() };
}

/** Why /debug/syncz says the proxy of `node` may not have its namespace's Secrets (undefined: it may). */
export async function credentialsDenied(d: ReviewedDiscovery, node: string): Promise<string | undefined> {
  const syncz = (await (await fetch(`http://127.0.0.1:${d.discovery.monitoringPort}/debug/syncz`)).json()) as {
    node: string;
    credentialsDenied?: string;
  }[];
  return syncz.find((p) => p.node === node)?.credentialsDenied;
}
