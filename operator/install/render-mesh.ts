// The mesh config discovery reads: ConfigMap weft-mesh, key `mesh`, Istio's MeshConfig rendered from
// spec.meshConfig (operator/discovery/model/mesh.ts parses it). Pure.
import { stringify } from "yaml";
import type { MeshSpec } from "../api/types.js";
import { DISCOVERY } from "./labels.js";

export function meshConfig(spec: MeshSpec) {
  const m = spec.meshConfig;
  const { zipkin, openTelemetry: otel } = m.tracing;
  return {
    defaultConfig: {
      binaryPath: spec.proxy.binaryPath,
      discoveryAddress: `${DISCOVERY}.${spec.namespace}.svc:15012`,
      tracing: { sampling: m.tracing.sampling, ...(zipkin ? { zipkin: { address: zipkin.address } } : {}) },
      ...(m.defaultConfig.gatewayTopology?.numTrustedProxies
        ? { gatewayTopology: { numTrustedProxies: m.defaultConfig.gatewayTopology.numTrustedProxies } }
        : {}),
    },
    ...(otel
      ? {
          extensionProviders: [
            { name: "otel", opentelemetry: { service: otel.service, port: otel.port, http: { path: otel.path } } },
          ],
          defaultProviders: { tracing: ["otel"] },
        }
      : {}),
    mtls: m.mtls,
    defaultHttpRetryPolicy: m.defaultRetryPolicy,
    accessLogFile: m.accessLog.enabled ? "/dev/stdout" : "",
    accessLogEncoding: m.accessLog.encoding,
  };
}

/** The ConfigMap's `mesh` text. */
export const meshConfigText = (spec: MeshSpec): string => stringify(meshConfig(spec));
