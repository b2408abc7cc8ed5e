// The MeshInstallation CustomResourceDefinition, built from schema.ts. Pure.
import { specSchema, statusSchema } from "./schema.js";
import { API_VERSION, GROUP, KIND, PLURAL } from "./types.js";

const column = (name: string, type: string, jsonPath: string, description: string) => ({
  name,
  type,
  jsonPath,
  description,
});

export function meshInstallationCrd() {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${PLURAL}.${GROUP}`, labels: { "app.kubernetes.io/part-of": "weft" } },
    spec: {
      group: GROUP,
      scope: "Cluster",
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: "meshinstallation",
        shortNames: ["mesh"],
        categories: ["weft"],
      },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            column("Namespace", "string", ".spec.namespace", "Namespace of the control plane"),
            column("Version", "string", ".status.version", "Control-plane version rolled out"),
            column(
              "Ready",
              "string",
              '.status.conditions[?(@.type=="Ready")].status',
              "Whether the control plane is ready",
            ),
            column("Proxies", "integer", ".status.proxies.connected", "Proxies connected to the control plane"),
            column("Synced", "integer", ".status.proxies.synced", "Proxies that ACKed the latest config"),
            column("Upgraded", "string", ".status.proxies.upgraded", "Injected proxies running the mesh's engine, n/m"),
            column("State", "string", ".status.state", "Healthy, or why not"),
            column("Age", "date", ".metadata.creationTimestamp", ""),
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: "MeshInstallation installs and upgrades one Weft control plane and its proxies.",
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: {
                  type: "object",
                  properties: { name: { type: "string", maxLength: 63, pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" } },
                },
                spec: { ...specSchema, default: {} },
                status: statusSchema,
              },
            },
          },
        },
      ],
    },
  };
}
