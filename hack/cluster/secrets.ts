// The process cluster's credentials: a CA and the API server's serving certificate, one
// admin token (group system:masters) for every client, and the service-account key pair.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { stringify } from "yaml";
import { generateCa, issueCert } from "../../operator/runtime/pki.js";
import { KUBECONFIG, KUBERNETES_SERVICE_IP, NODE, SERVER, path } from "./layout.js";

export const files = {
  caCert: path("pki", "ca.crt"),
  serverCert: path("pki", "apiserver.crt"),
  serverKey: path("pki", "apiserver.key"),
  saKey: path("pki", "sa.key"),
  saPub: path("pki", "sa.pub"),
  tokens: path("pki", "tokens.csv"),
  /** The API server's client certificate to kubelets (logs, exec), in group system:masters. */
  kubeletClientCert: path("pki", "apiserver-kubelet-client.crt"),
  kubeletClientKey: path("pki", "apiserver-kubelet-client.key"),
  /** The real node's kubelet serving certificate, for its address on the bridge. */
  kubeletCert: path("pki", "kubelet.crt"),
  kubeletKey: path("pki", "kubelet.key"),
  admission: path("admission.yaml"),
  podNodeSelector: path("pod-node-selector.yaml"),
};

/** Placement: every pod goes to a KWOK node (type=kwok) unless its namespace's annotation
 * scheduler.alpha.kubernetes.io/node-selector asks for another, e.g. type=real for weft-node-0. */
export const DEFAULT_NODE_SELECTOR = "type=kwok";

function writeAdmission(): void {
  writeFileSync(
    files.podNodeSelector,
    stringify({ podNodeSelectorPluginConfig: { clusterDefaultNodeSelector: DEFAULT_NODE_SELECTOR } }),
  );
  writeFileSync(
    files.admission,
    stringify({
      apiVersion: "apiserver.config.k8s.io/v1",
      kind: "AdmissionConfiguration",
      plugins: [{ name: "PodNodeSelector", path: files.podNodeSelector }],
    }),
  );
}

export async function ensureSecrets(): Promise<void> {
  mkdirSync(path("pki"), { recursive: true, mode: 0o700 });
  writeAdmission();
  if (Object.values(files).every((f) => existsSync(f)) && existsSync(KUBECONFIG)) return;
  mkdirSync(path("pki"), { recursive: true, mode: 0o700 });
  const ca = await generateCa("weft-process-cluster-ca", 3650);
  const server = await issueCert(ca, {
    commonName: "kube-apiserver",
    dnsNames: [
      "localhost",
      "kubernetes",
      "kubernetes.default",
      "kubernetes.default.svc",
      "kubernetes.default.svc.cluster.local",
    ],
    ips: ["127.0.0.1", KUBERNETES_SERVICE_IP],
    usage: "server",
    days: 3650,
  });
  const kubeletClient = await issueCert(ca, {
    commonName: "kube-apiserver-kubelet-client",
    organization: "system:masters",
    usage: "client",
    days: 3650,
  });
  const kubelet = await issueCert(ca, {
    commonName: NODE.name,
    dnsNames: [NODE.name],
    ips: [NODE.ip],
    usage: "server",
    days: 3650,
  });
  const sa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const token = randomBytes(24).toString("hex");
  writeFileSync(files.caCert, ca.certPem);
  writeFileSync(files.serverCert, server.certPem);
  writeFileSync(files.serverKey, server.keyPem, { mode: 0o600 });
  writeFileSync(files.kubeletClientCert, kubeletClient.certPem);
  writeFileSync(files.kubeletClientKey, kubeletClient.keyPem, { mode: 0o600 });
  writeFileSync(files.kubeletCert, kubelet.certPem);
  writeFileSync(files.kubeletKey, kubelet.keyPem, { mode: 0o600 });
  writeFileSync(files.saKey, sa.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  writeFileSync(files.saPub, sa.publicKey.export({ type: "spki", format: "pem" }));
  writeFileSync(files.tokens, `${token},weft-admin,weft-admin,"system:masters"\n`, { mode: 0o600 });
  const kubeconfig = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "weft",
        cluster: { server: SERVER, "certificate-authority-data": Buffer.from(ca.certPem).toString("base64") },
      },
    ],
    users: [{ name: "weft-admin", user: { token } }],
    contexts: [{ name: "weft", context: { cluster: "weft", user: "weft-admin" } }],
    "current-context": "weft",
  };
  writeFileSync(KUBECONFIG, stringify(kubeconfig), { mode: 0o600 });
}

export const caPem = () => readFileSync(files.caCert, "utf8");
