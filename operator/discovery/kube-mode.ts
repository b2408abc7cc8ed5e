// `weft discovery` against a Kubernetes API server: the Kubernetes source feeding the usual push path, the proxy
// report for the operator, and the validation and injection webhooks on :15017 with a serving cert from the mesh CA.
import { CoreV1Api, KubernetesObjectApi } from "@kubernetes/client-node";
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { isIP } from "node:net";
import type { AddressInfo } from "node:net";
import type { Server } from "node:https";
import type { Logger } from "pino";
import { hostname } from "node:os";
import { CA_SECRET, DISCOVERY, PROXY_STATUS_CONFIGMAP } from "../install/labels.js";
import { ROOT_CERT_KEY } from "../api/roles.js";
import { staleReportKeys } from "../install/proxy-report.js";
import { injectHandler } from "../injector/kube.js";
import { Applier } from "../runtime/apply.js";
import { errorMessage, isNotFound } from "../runtime/kube.js";
import { issueCert } from "../runtime/pki.js";
import type { KeyPair } from "../runtime/pki.js";
import type { Named } from "./model/config.js";
import type { DestinationRule } from "./model/istio.js";
import { ProxyReporter, reportFieldManager } from "./report.js";
import { startDiscovery } from "./server.js";
import type { Discovery, SecureOptions } from "./server.js";
import { TokenReviewAuthenticator } from "./ca/authn.js";
import { subjectAccessReview } from "./ca/secret-review.js";
import { DEFAULT_WORKLOAD_TTL_MS } from "./ca/service.js";
import { KubeSource } from "./sources/kube.js";
import { configMapMeshSource } from "./sources/mesh.js";
import { ENGINE_ANNOTATION, parseTarget } from "../../proxy/xds/engine.js";
import { webhookServer } from "./webhook.js";

export interface KubeDiscoveryOptions {
  kc: KubeConfig;
  log: Logger;
  /** Discovery's own namespace: the report ConfigMap and the CA Secret live there. */
  namespace: string;
  /** The MeshInstallation this discovery serves: the report's weft.dev/mesh label. */
  mesh: string;
  /** Watch only this namespace; all when unset. */
  watchNamespace?: string;
  address: string;
  xdsPort: number;
  monitoringPort: number;
  /** -1: no webhook. */
  webhookPort: number;
  /** This replica's name in the report; its pod name by default. */
  replica?: string;
  /** The mesh CA and xDS over mTLS (-1 or unset: off). Needs the mesh CA Secret. */
  securePort?: number;
  workloadCertTtlMs?: number;
  /** How long a denied SubjectAccessReview (gateway Secrets) is cached; an allowed one five times as long. */
  secretReviewTtlMs?: number;
}

export interface KubeDiscovery extends Discovery {
  /** Undefined when the webhook is off or the mesh CA isn't there. */
  webhookPort?: number;
}

/** The DNS names (and the bound IP, when discovery listens on one address) a webhook serving cert carries. Pure. */
export function webhookNames(namespace: string, address: string): { dnsNames: string[]; ips: string[] } {
  const svc = `${DISCOVERY}.${namespace}`;
  const ips = isIP(address) && address !== "0.0.0.0" && address !== "::" ? [address] : [];
  return { dnsNames: [DISCOVERY, svc, `${svc}.svc`, `${svc}.svc.cluster.local`], ips };
}

async function readCa(kc: KubeConfig, namespace: string): Promise<(KeyPair & { rootsPem?: string }) | undefined> {
  try {
    const secret = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name: CA_SECRET, namespace });
    const pem = (k: string) => (secret.data?.[k] ? Buffer.from(secret.data[k], "base64").toString("utf8") : undefined);
    const certPem = pem("ca-cert.pem");
    const keyPem = pem("ca-key.pem");
    // root-cert.pem: the trust bundle during a CA rotation (operator/discovery/README.md, "CA rotation").
    const rootsPem = pem(ROOT_CERT_KEY);
    return certPem && keyPem ? { certPem, keyPem, ...(rootsPem ? { rootsPem } : {}) } : undefined;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function listDestinationRules(kc: KubeConfig): Promise<Named<DestinationRule>[]> {
  const list = await KubernetesObjectApi.makeApiClient(kc).list<KubernetesObject & { spec?: DestinationRule }>(
    "networking.istio.io/v1",
    "DestinationRule",
  );
  return list.items.map((o) => ({
    name: o.metadata?.name ?? "",
    namespace: o.metadata?.namespace ?? "default",
    spec: o.spec ?? { host: "" },
  }));
}

/** Removes stale replicas' report keys (read, then replace at that resourceVersion: a conflict leaves them). */
async function pruneReports(o: KubeDiscoveryOptions, me: string): Promise<void> {
  const core = o.kc.makeApiClient(CoreV1Api);
  try {
    const cm = await core.readNamespacedConfigMap({ name: PROXY_STATUS_CONFIGMAP, namespace: o.namespace });
    const pods = await core.listNamespacedPod({ namespace: o.namespace, labelSelector: `app=${DISCOVERY}` });
    const stale = staleReportKeys(
      cm.data,
      me,
      pods.items.map((p) => p.metadata?.name ?? ""),
    );
    if (stale.length === 0) return;
    for (const key of stale) delete cm.data?.[key];
    await core.replaceNamespacedConfigMap({ name: PROXY_STATUS_CONFIGMAP, namespace: o.namespace, body: cm });
    o.log.info({ removed: stale }, "stale proxy reports removed");
  } catch (err) {
    if (!isNotFound(err)) o.log.warn({ error: errorMessage(err) }, "stale proxy reports not pruned");
  }
}

async function startWebhook(o: KubeDiscoveryOptions): Promise<Server | undefined> {
  const ca = await readCa(o.kc, o.namespace);
  if (!ca) {
    o.log.warn(
      { namespace: o.namespace, secret: CA_SECRET },
      "no mesh CA: the validation and injection webhooks are not served",
    );
    return undefined;
  }
  const cert = await issueCert(ca, {
    commonName: `${DISCOVERY}.${o.namespace}.svc`,
    ...webhookNames(o.namespace, o.address),
    usage: "server",
    days: 365,
  });
  const inject = injectHandler({ kc: o.kc, namespace: o.namespace, log: o.log });
  const server = webhookServer({ ...cert, log: o.log, destinationRules: () => listDestinationRules(o.kc), inject });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.webhookPort, o.address, () => resolve());
  });
  return server;
}

/** :15012 from the mesh CA Secret, tokens checked by TokenReview; undefined (said) without the Secret. */
async function secureOptions(o: KubeDiscoveryOptions): Promise<SecureOptions | undefined> {
  if (o.securePort === undefined || o.securePort < 0) return undefined;
  const ca = await readCa(o.kc, o.namespace);
  if (!ca) {
    o.log.warn({ namespace: o.namespace, secret: CA_SECRET }, "no mesh CA: :15012 (CA, xDS over mTLS) is not served");
    return undefined;
  }
  return {
    port: o.securePort,
    ca,
    authn: new TokenReviewAuthenticator(o.kc),
    ttlMs: o.workloadCertTtlMs ?? DEFAULT_WORKLOAD_TTL_MS,
    names: webhookNames(o.namespace, o.address),
    ...(ca.rootsPem ? { trustBundle: ca.rootsPem } : {}),
  };
}

export async function startKubeDiscovery(o: KubeDiscoveryOptions): Promise<KubeDiscovery> {
  const webhook = o.webhookPort >= 0 ? await startWebhook(o) : undefined;
  const secure = await secureOptions(o);
  let source: KubeSource | undefined;
  const served: { discovery?: Discovery } = {}; // known once started; pod changes before that push nothing
  const replica = o.replica ?? process.env.POD_NAME ?? hostname();
  const discovery = await startDiscovery({
    replica,
    address: o.address,
    xdsPort: o.xdsPort,
    monitoringPort: o.monitoringPort,
    log: o.log,
    ...(secure ? { secure } : {}),
    // A gateway's certificate vouches for its namespace and ServiceAccount; the API server says whether that
    // ServiceAccount may read the namespace's Secrets (the node id's "router" is the client's own claim).
    reviewSecrets: { review: subjectAccessReview(o.kc), deniedTtlMs: o.secretReviewTtlMs },
    mesh: (onMesh) => configMapMeshSource(o.kc, o.namespace, o.log, onMesh),
    // Each agent's desired engine is its pod's weft.dev/engine annotation, set by the operator (proxy/xds/engine.ts).
    engineFor: (proxy) => {
      if (proxy.kind !== "sidecar") return undefined;
      const pod = source?.pod(proxy.namespace, proxy.workloadName);
      return parseTarget(pod?.metadata?.annotations?.[ENGINE_ANNOTATION]);
    },
    source: (onChange) =>
      (source = new KubeSource({
        kc: o.kc,
        log: o.log,
        namespace: o.watchNamespace,
        onChange,
        // A pod's weft.dev/engine annotation changes no model: look at every batch of events.
        onEvents: () => served.discovery?.ads.pushEngines(),
      })),
  });
  served.discovery = discovery;
  await pruneReports(o, replica);
  const applier = new Applier(o.kc, reportFieldManager(replica));
  const reporter = new ProxyReporter({
    tracker: discovery.ads.tracker,
    namespace: o.namespace,
    mesh: o.mesh,
    replica,
    apply: (cm) => applier.apply(cm),
    log: o.log,
  });
  reporter.start();
  const webhookPort = webhook ? (webhook.address() as AddressInfo).port : undefined;
  o.log.info({ namespace: o.namespace, mesh: o.mesh, replica, webhookPort }, "discovery serving a Kubernetes cluster");
  return {
    ...discovery,
    webhookPort,
    close: async () => {
      await reporter.stop();
      if (webhook) {
        await new Promise<void>((resolve) => {
          webhook.close(() => resolve());
          webhook.closeAllConnections();
        });
      }
      await discovery.close();
    },
  };
}
