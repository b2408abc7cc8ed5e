// The mesh config discovery reads: ConfigMap weft-mesh, key `mesh`, Istio's MeshConfig rendered from
// spec.meshConfig (operator/discovery/model/mesh.ts parses it). Pure.
import { stringify } from "yaml";
import { SHORTCUT_TRACER } from "../api/schema-providers.js";
import type { ExtensionProvider, MeshSpec } from "../api/types.js";
import { parseMeshConfig } from "../discovery/model/mesh.js";
import { DISCOVERY } from "./labels.js";

export function meshConfig(spec: MeshSpec) {
  const m = spec.meshConfig;
  const { zipkin, openTelemetry: otel } = m.tracing;
  // The user's providers first, so that extensionProviders[i] is spec.meshConfig.extensionProviders[i].
  const providers: ExtensionProvider[] = [
    ...(m.extensionProviders ?? []),
    ...(otel
      ? [
          {
            name: SHORTCUT_TRACER,
            opentelemetry: { service: otel.service, port: otel.port, http: { path: otel.path } },
          },
        ]
      : []),
  ];
  const defaults = { ...m.defaultProviders, ...(otel ? { tracing: [SHORTCUT_TRACER] } : {}) };
  return {
    defaultConfig: {
      binaryPath: spec.proxy.binaryPath,
      discoveryAddress: `${DISCOVERY}.${spec.namespace}.svc:15012`,
      tracing: { sampling: m.tracing.sampling, ...(zipkin ? { zipkin: { address: zipkin.address } } : {}) },
      ...gatewayTopology(m.defaultConfig.gatewayTopology),
      // As written: discovery reads Istio's field names (mesh-proxy-headers.ts); nothing when none is set.
      ...(Object.keys(m.defaultConfig.proxyHeaders ?? {}).length ? { proxyHeaders: m.defaultConfig.proxyHeaders } : {}),
    },
    ...(providers.length ? { extensionProviders: providers } : {}),
    ...(Object.keys(defaults).length ? { defaultProviders: defaults } : {}),
    mtls: m.mtls,
    defaultHttpRetryPolicy: m.defaultRetryPolicy,
    accessLogFile: m.accessLog.enabled ? "/dev/stdout" : "",
    accessLogEncoding: m.accessLog.encoding,
  };
}

/** The ConfigMap's `mesh` text. */
export const meshConfigText = (spec: MeshSpec): string => stringify(meshConfig(spec));

/**
 * Why discovery would refuse the rendered mesh config (and keep its last good one), naming the spec's field; none:
 * undefined. What the schema can't check, such as a log format's command operators, is caught here.
 */
export function meshConfigProblem(spec: MeshSpec): string | undefined {
  try {
    parseMeshConfig(meshConfigText(spec));
    return undefined;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // Discovery names extensionProviders[i] and defaultProviders fields as the spec does.
    return /^(extensionProviders|defaultProviders)\b/.test(message)
      ? `spec.meshConfig.${message}`
      : `spec.meshConfig: discovery refuses the mesh config rendered from it: ${message}`;
  }
}

/** defaultConfig.gatewayTopology as istiod reads it: only the fields set (nothing when none is). */
function gatewayTopology(t: { numTrustedProxies?: number; forwardClientCertDetails?: string } | undefined) {
  const out = {
    ...(t?.numTrustedProxies ? { numTrustedProxies: t.numTrustedProxies } : {}),
    ...(t?.forwardClientCertDetails ? { forwardClientCertDetails: t.forwardClientCertDetails } : {}),
  };
  return Object.keys(out).length ? { gatewayTopology: out } : {};
}
