// Test support: Bookinfo's Kubernetes objects (Services, EndpointSlices, Pods) and Istio's networking YAML
// from samples/bookinfo/networking, as published.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../../operator/discovery/model/kube.js";
import { normalise } from "../../../operator/discovery/model/normalise.js";
import type { ConfigModel } from "../../../operator/discovery/model/config.js";

const here = path.dirname(fileURLToPath(import.meta.url));
export const NETWORKING_DIR = path.resolve(here, "../../../samples/bookinfo/networking");

export function parseYaml(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === "object");
}

export function sample(file: string): KubeObject[] {
  return parseYaml(readFileSync(path.join(NETWORKING_DIR, file), "utf8"));
}

/** Bookinfo as local processes (samples/bookinfo/local/services.yaml) plus Istio's networking files. */
export function bookinfoLocalModel(...files: string[]): ConfigModel {
  const local = parseYaml(readFileSync(path.join(NETWORKING_DIR, "../local/services.yaml"), "utf8"));
  return normalise([...local, ...files.flatMap(sample)]).model;
}

const APPS: [string, string[]][] = [
  ["productpage", ["v1"]],
  ["details", ["v1"]],
  ["reviews", ["v1", "v2", "v3"]],
  ["ratings", ["v1"]],
];

/** Bookinfo in namespace default: one Service per app on port 9080, one Pod per version, EndpointSlices. */
export function bookinfoKube(): KubeObject[] {
  const objects: KubeObject[] = [];
  let ip = 10;
  APPS.forEach(([app, versions], i) => {
    objects.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: app, namespace: "default", labels: { app } },
      spec: {
        clusterIP: `10.96.0.${i + 10}`,
        ports: [{ name: "http", port: 9080, targetPort: 9080 }],
        selector: { app },
      },
    });
    const endpoints = versions.map((version) => {
      const name = `${app}-${version}-0`;
      const podIP = `10.0.0.${ip++}`;
      objects.push({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: "default", labels: { app, version } },
        status: { podIP, phase: "Running" },
      });
      return {
        addresses: [podIP],
        conditions: { ready: true },
        targetRef: { kind: "Pod", name, namespace: "default" },
      };
    });
    objects.push({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: `${app}-abcde`, namespace: "default", labels: { "kubernetes.io/service-name": app } },
      addressType: "IPv4",
      endpoints,
      ports: [{ name: "http", port: 9080, protocol: "TCP" }],
    });
  });
  return objects;
}

export function bookinfoModel(...files: string[]): ConfigModel {
  const objects = [...bookinfoKube(), ...files.flatMap(sample)];
  return normalise(objects).model;
}
