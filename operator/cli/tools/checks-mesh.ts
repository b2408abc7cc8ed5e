// `weft check`, per MeshInstallation: weftd available, the webhooks' CA bundles, the injector ConfigMap (parsed by
// the injector's own parser), every proxy connected and synced (weftd's report, ConfigMap weft-proxy-status: no
// network path to weftd needed), and the sidecars' versions (ProxiesUpgraded).
import { X509Certificate } from "node:crypto";
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type AdmissionregistrationV1WebhookClientConfig as WebhookClientConfig,
} from "@kubernetes/client-node";
import type { MeshInstallation } from "../../api/types.js";
import { normalizeSpec } from "../../api/spec.js";
import { parseInjectorConfigMap } from "../../injector/config.js";
import {
  CA_SECRET,
  DISCOVERY,
  INJECTOR_CONFIGMAP,
  PROXY_STATUS_CONFIGMAP,
  clusterScopedName,
} from "../../install/labels.js";
import { reportFromData } from "../../install/proxy-report.js";
import { errorMessage, isNotFound } from "../../runtime/kube.js";
import { bundleCerts, servedCert, verifiesLeaf } from "./ca-bundle.js";
import { fail, pass, type Check } from "./check-runner.js";

export interface MeshCheckOptions {
  /** host:port where weftd's webhooks answer, to fetch the served certificate (else: the clientConfig's URL). */
  webhookAddress?: string;
  operatorNamespace: string;
}

const notFoundAs = <T>(p: Promise<T>): Promise<T | undefined> =>
  p.catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });

export function meshChecks(kc: KubeConfig, m: MeshInstallation, o: MeshCheckOptions): Check[] {
  const mesh = m.metadata?.name ?? "";
  const ns = normalizeSpec(m.spec).namespace;
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const restartOperator = `the operator re-applies it: kubectl -n ${o.operatorNamespace} rollout restart deploy/weft-operator`;

  const weftd: Check = {
    name: `mesh ${mesh}: weftd available`,
    run: async () => {
      const d = await notFoundAs(apps.readNamespacedDeployment({ name: DISCOVERY, namespace: ns }));
      if (!d) return fail(`no Deployment ${ns}/${DISCOVERY}`, restartOperator);
      const available = d.status?.conditions?.find((c) => c.type === "Available");
      if (available?.status !== "True" || !d.status?.availableReplicas)
        return fail(
          `${d.status?.availableReplicas ?? 0}/${d.spec?.replicas ?? 1} available${available?.message ? `: ${available.message}` : ""}`,
          `kubectl -n ${ns} describe deploy/${DISCOVERY}; kubectl -n ${ns} logs deploy/${DISCOVERY}`,
        );
      return pass(`${d.status.availableReplicas}/${d.spec?.replicas ?? 1} replicas`);
    },
  };

  const webhookCheck = (kind: "Mutating" | "Validating", name: string): Check => ({
    name: `mesh ${mesh}: ${kind.toLowerCase()} webhook ${name} has a valid CA bundle`,
    run: async () => {
      const config =
        kind === "Mutating"
          ? await notFoundAs(admission.readMutatingWebhookConfiguration({ name }))
          : await notFoundAs(admission.readValidatingWebhookConfiguration({ name }));
      if (!config) return fail(`${kind}WebhookConfiguration ${name} is missing`, restartOperator);
      const secret = await notFoundAs(core.readNamespacedSecret({ name: CA_SECRET, namespace: ns }));
      const caPem = secret?.data?.["ca-cert.pem"];
      const meshCa = caPem ? new X509Certificate(Buffer.from(caPem, "base64")) : undefined;
      const problems: string[] = [];
      for (const w of config.webhooks ?? []) {
        const problem = await bundleProblem(w.clientConfig, meshCa, ns, o.webhookAddress);
        if (problem) problems.push(`${w.name}: ${problem}`);
      }
      return problems.length
        ? fail(
            problems.join("; "),
            `${restartOperator} (it writes the CA of Secret ${ns}/${CA_SECRET} into the bundle)`,
          )
        : pass(`${(config.webhooks ?? []).length} webhook(s)`);
    },
  });

  const injector: Check = {
    name: `mesh ${mesh}: injector ConfigMap parses`,
    run: async () => {
      const cm = await notFoundAs(core.readNamespacedConfigMap({ name: INJECTOR_CONFIGMAP, namespace: ns }));
      if (!cm) return fail(`no ConfigMap ${ns}/${INJECTOR_CONFIGMAP}`, restartOperator);
      const parsed = parseInjectorConfigMap(cm.data);
      return parsed.ok
        ? pass(`templates ${Object.keys(parsed.config.templates).join(", ")}`)
        : fail(
            `key ${parsed.key}: ${parsed.error}`,
            `the operator owns ${ns}/${INJECTOR_CONFIGMAP}: undo the hand edit, or ${restartOperator}`,
          );
    },
  };

  const proxies: Check = {
    name: `mesh ${mesh}: every proxy connected and synced`,
    run: async () => {
      const cm = await notFoundAs(core.readNamespacedConfigMap({ name: PROXY_STATUS_CONFIGMAP, namespace: ns }));
      const report = reportFromData(cm?.data);
      if (!report) return pass("no proxy report yet (no proxy has connected)");
      if (report.synced === report.connected && !report.nacks?.length)
        return pass(`${report.connected} connected, ${report.synced} synced`);
      const nacks = (report.nacks ?? []).slice(0, 3).map((n) => `${n.node} ${n.type} NACKED: ${n.error}`);
      return fail(
        `${report.connected} connected, ${report.synced} synced${nacks.length ? `; ${nacks.join("; ")}` : ""}`,
        `weft proxy-status -n ${ns} shows each proxy; fix the config the error names (the proxy keeps its last good config until then)`,
      );
    },
  };

  const versions: Check = {
    name: `mesh ${mesh}: sidecar versions`,
    run: async () => {
      const c = m.status?.conditions?.find((x) => x.type === "ProxiesUpgraded");
      const seen = Object.entries(m.status?.proxies?.versions ?? {})
        .map(([v, n]) => `${v} ×${n}`)
        .join(", ");
      if (!c || c.status === "Unknown") return pass(seen || "no sidecar reports a version yet");
      if (c.status === "True") return pass(`${c.message}${seen ? ` (${seen})` : ""}`);
      return fail(
        `${c.reason}: ${c.message}`,
        c.reason === "Outdated"
          ? "restart the outdated workloads (kubectl rollout restart deploy -n <namespace>), or set spec.proxy.upgradePolicy"
          : `kubectl describe mesh ${mesh}; the failed pods are named above`,
      );
    },
  };

  return [
    weftd,
    webhookCheck("Mutating", clusterScopedName(mesh, "sidecar-injector")),
    webhookCheck("Validating", clusterScopedName(mesh, "validator")),
    injector,
    proxies,
    versions,
  ];
}

/** What is wrong with one webhook's caBundle: it must parse, be the mesh CA, and verify the served certificate. */
async function bundleProblem(
  client: WebhookClientConfig,
  meshCa: X509Certificate | undefined,
  ns: string,
  webhookAddress: string | undefined,
): Promise<string | undefined> {
  const cas = bundleCerts(client.caBundle);
  if (typeof cas === "string") return cas;
  if (meshCa && !cas.some((c) => c.fingerprint256 === meshCa.fingerprint256))
    return `caBundle is not the mesh CA (Secret ${ns}/${CA_SECRET}, ${meshCa.subject.replace(/\n/g, ",")}): weftd's certificate will not verify`;
  const service = client.service ? `${client.service.name}.${client.service.namespace}.svc` : undefined;
  const url = client.url ? new URL(client.url) : undefined;
  const address = webhookAddress ?? (url ? `${url.hostname}:${url.port || "443"}` : undefined);
  if (!address) return undefined; // a Service in the cluster: the CLI can't dial it; the mesh CA check stands
  const i = address.lastIndexOf(":");
  const host = address.slice(0, i);
  const name = service ?? url?.hostname ?? host;
  let leaf: X509Certificate;
  try {
    leaf = await servedCert(host, Number(address.slice(i + 1)), name);
  } catch (err) {
    return `not reachable: ${errorMessage(err)}`;
  }
  const why = verifiesLeaf(cas, leaf);
  if (why) return why;
  if (!leaf.checkHost(name) && !leaf.checkIP(name)) return `the served certificate is not for ${name}`;
  return undefined;
}
