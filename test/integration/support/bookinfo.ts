// Bookinfo on the process cluster: a Service per app and a Deployment per version (labels app and version), whose
// pods KWOK makes Ready, so EndpointSlices fill in as in a real cluster. No containers run: pod IPs are only data.
import { REPO_ROOT } from "../../../hack/cluster/layout.js";
import { kube } from "./kubectl.js";

export const BOOKINFO: [string, string[]][] = [
  ["productpage", ["v1"]],
  ["details", ["v1"]],
  ["reviews", ["v1", "v2", "v3"]],
  ["ratings", ["v1"]],
];

export const NETWORKING = `${REPO_ROOT}/samples/bookinfo/networking`;

export function bookinfoYaml(namespace: string): string {
  const docs = [`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${namespace}`];
  for (const [app, versions] of BOOKINFO) {
    docs.push(`apiVersion: v1
kind: Service
metadata: { name: ${app}, namespace: ${namespace}, labels: { app: ${app} } }
spec:
  selector: { app: ${app} }
  ports: [{ name: http, port: 9080, targetPort: 9080 }]`);
    for (const version of versions) {
      docs.push(`apiVersion: apps/v1
kind: Deployment
metadata: { name: ${app}-${version}, namespace: ${namespace} }
spec:
  replicas: 1
  selector: { matchLabels: { app: ${app}, version: ${version} } }
  template:
    metadata: { labels: { app: ${app}, version: ${version} } }
    spec:
      containers: [{ name: ${app}, image: docker.io/istio/examples-bookinfo-${app}-${version}:1.20.2, ports: [{ containerPort: 9080, name: http }] }]`);
    }
  }
  return docs.join("\n---\n") + "\n";
}

/** Applies Bookinfo's workloads and waits until every Deployment is available and every Service has endpoints. */
export async function applyBookinfo(namespace: string): Promise<void> {
  await kube(["apply", "-f", "-"], bookinfoYaml(namespace));
  await kube(["wait", "--for=condition=Available", "deployment", "--all", "-n", namespace, "--timeout=60s"]);
}

/** Istio's networking files, applied unchanged into namespace. */
export async function applyNetworking(namespace: string, ...files: string[]): Promise<void> {
  for (const f of files) await kube(["apply", "-n", namespace, "-f", `${NETWORKING}/${f}`]);
}

/** A sidecar node id, as Istio spells it, for a pod of app in namespace. */
export const sidecarId = (app: string, namespace: string) =>
  `sidecar~10.244.0.250~${app}-v1-test.${namespace}~${namespace}.svc.cluster.local`;
