// The one schema of MeshInstallation: the CRD's openAPIV3Schema is generated from it
// (hack/gen-crds.ts writes crds/), and ajv uses it for defaults and for checking local
// files. Keep it structural: every field typed, no additionalProperties at object level.
import { DEFAULT_BINARY_PATH, DEFAULT_HUB } from "./versions.js";
import { WEFT_VERSION } from "./version.js";
import { ABSOLUTE_PATH, DURATION, HOST } from "./patterns.js";
import { MESH_PROVIDER_RULES, providerProperties } from "./schema-providers.js";
import { FORWARD_CLIENT_CERT_MODES } from "../../proxy/engine/xfcc.js";
import { proxyHeadersSchema } from "./schema-proxy-headers.js";

export interface Schema {
  type?: "object" | "string" | "integer" | "number" | "boolean" | "array";
  anyOf?: Schema[];
  "x-kubernetes-int-or-string"?: boolean;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
  required?: string[];
  enum?: (string | boolean)[];
  pattern?: string;
  format?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  minLength?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
  "x-kubernetes-validations"?: { rule: string; message: string; fieldPath?: string; reason?: string }[];
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-preserve-unknown-fields"?: boolean;
}

const DNS1123_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
const SEMVER = "^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$";
// A registry and repository path such as docker.io/weft or localhost:5000/team/weft.
const HUB = "^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$";
// A whole image reference: repository, then an optional :tag and/or @sha256:digest.
const IMAGE =
  "^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$";
const TAG = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$";
// A non-negative Kubernetes quantity: 100m, 0.5, 128Mi, 1G. A leading '-' never matches.
const QUANTITY = "^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$";
export const MAX_UNAVAILABLE_PERCENT = "^(100|[1-9][0-9]?)%$";
export const MAX_UNAVAILABLE_MESSAGE = "must be an integer >= 1 or a percentage from 1% to 100%";
const HOST_PORT = "^[A-Za-z0-9.-]+:[0-9]{1,5}$";
/** Istio's MAX_WORKLOAD_CERT_TTL default: the longest workload certificate a mesh may ask for (90 days). */
export const MAX_WORKLOAD_CERT_TTL = "2160h";
export const SECRET_TTL_RULE = `duration(self) >= duration('1s') && duration(self) <= duration('${MAX_WORKLOAD_CERT_TTL}')`;
export const SECRET_TTL_MESSAGE = `must be a duration from 1s to ${MAX_WORKLOAD_CERT_TTL} (Istio's MAX_WORKLOAD_CERT_TTL)`;

const str = (description: string, extra: Schema = {}): Schema => ({ type: "string", description, ...extra });
const bool = (description: string, dflt: boolean): Schema => ({ type: "boolean", description, default: dflt });
const obj = (description: string, properties: Record<string, Schema>, extra: Schema = {}): Schema => ({
  type: "object",
  description,
  properties,
  default: {},
  ...extra,
});

const quantity = (what: string): Schema =>
  str(`${what}, a non-negative quantity such as 100m or 128Mi.`, { pattern: QUANTITY });
const resourceList = (what: string): Schema => ({
  type: "object",
  description: what,
  properties: { cpu: quantity("CPU"), memory: quantity("Memory") },
});
const resources = (
  description: string,
  requests: { cpu: string; memory: string },
  limits: { cpu: string; memory: string },
): Schema =>
  obj(description, {
    requests: { ...resourceList("Requested resources."), default: requests },
    limits: { ...resourceList("Resource limits."), default: limits },
  });

export const specSchema: Schema = {
  type: "object",
  description: "The desired mesh: one control plane and the proxies it configures.",
  properties: {
    version: str("The Weft control-plane version to run. The image is <hub>/weft:<version>.", {
      pattern: SEMVER,
      default: WEFT_VERSION,
    }),
    namespace: str("Namespace of the control plane. Immutable: create a new MeshInstallation to move it.", {
      pattern: DNS1123_LABEL,
      maxLength: 63,
      default: "weft-system",
      "x-kubernetes-validations": [
        {
          rule: "self == oldSelf",
          message: "namespace is immutable; create a new MeshInstallation to move the control plane",
        },
      ],
    }),
    hub: str("Registry and repository prefix of Weft's images.", { pattern: HUB, default: DEFAULT_HUB }),
    discovery: obj("The control plane Deployment (weftd).", {
      replicas: { type: "integer", description: "Replicas of weftd.", minimum: 1, maximum: 20, default: 1 },
      resources: resources("Resources of each weftd pod.", { cpu: "500m", memory: "2Gi" }, { cpu: "2", memory: "4Gi" }),
    }),
    proxy: obj("The sidecar and gateway proxy.", {
      image: str("A whole proxy image reference. When set, it is used as given instead of <hub>/weft:<tag>.", {
        pattern: IMAGE,
      }),
      tag: str("Proxy image tag. Defaults to spec.version.", { pattern: TAG }),
      binaryPath: str("Absolute path of the proxy engine the agent runs, inside the proxy image.", {
        pattern: ABSOLUTE_PATH,
        default: DEFAULT_BINARY_PATH,
      }),
      maxUnavailable: {
        description:
          "How many injected pods may be upgrading at once (HotRestart: pods whose engine is being replaced; RollingRestart paces one workload at a time): a count such as 2, or a percentage of the injected pods such as 25%, rounded up. At least 1, at most 100%.",
        "x-kubernetes-int-or-string": true,
        anyOf: [{ type: "integer" }, { type: "string" }],
        // A structural schema allows no bounds inside an int-or-string's anyOf: CEL says it (spec.ts checks the same).
        "x-kubernetes-validations": [
          {
            rule: `type(self) == int ? self >= 1 : self.matches('${MAX_UNAVAILABLE_PERCENT}')`,
            message: MAX_UNAVAILABLE_MESSAGE,
          },
        ],
        default: "25%",
      },
      restartPolicy: str(
        "How running sidecars pick up a new proxy: HotRestart (in place, no dropped requests), RollingRestart (restart the workloads), or Never.",
        {
          enum: ["HotRestart", "RollingRestart", "Never"],
          default: "HotRestart",
        },
      ),
      resources: resources(
        "Resources of each injected proxy container.",
        { cpu: "100m", memory: "128Mi" },
        { cpu: "2", memory: "1Gi" },
      ),
    }),
    injection: obj("Automatic sidecar injection.", {
      policy: str(
        "Enabled injects into namespaces labelled weft-injection=enabled; Disabled injects only pods annotated sidecar.istio.io/inject=true.",
        {
          enum: ["Enabled", "Disabled"],
          default: "Enabled",
        },
      ),
      honorIstioLabel: bool("Also inject into namespaces labelled istio-injection=enabled.", true),
    }),
    meshConfig: obj(
      "Mesh-wide defaults, as in Istio's MeshConfig.",
      {
        mtls: obj("Mutual TLS between proxies.", {
          mode: str("STRICT accepts only mTLS; PERMISSIVE accepts both; DISABLE sends plaintext.", {
            enum: ["STRICT", "PERMISSIVE", "DISABLE"],
            default: "PERMISSIVE",
          }),
        }),
        defaultConfig: obj(
          "Istio's meshConfig.defaultConfig: the ProxyConfig every injected proxy starts from; a pod's proxy.istio.io/config overrides it.",
          {
            concurrency: {
              type: "integer",
              description:
                "Engine worker processes per proxy, sharing its listeners, circuit breakers and local rate limits (0: one per core). Unset: 1: each worker is a process with its own memory.",
              minimum: 0,
              maximum: 64,
            },
            gatewayTopology: obj("Istio's gatewayTopology: what stands in front of the gateways.", {
              numTrustedProxies: {
                type: "integer",
                description:
                  "Proxies (load balancers) in front of the gateways whose x-forwarded-for entries are believed: the client is the entry that many from the right (Envoy's xff_num_trusted_hops). Unset: 0, the gateway's peer is the client.",
                minimum: 0,
                maximum: 4294967295,
              },
              forwardClientCertDetails: {
                type: "string",
                enum: [...FORWARD_CLIENT_CERT_MODES],
                description:
                  "What the gateways do with x-forwarded-client-cert (Envoy's forward_client_cert_details). Unset: SANITIZE_SET, as Istio: the app behind a MUTUAL or OPTIONAL_MUTUAL server sees the client certificate's hash, PEM, subject and SANs, never a header the client sent.",
              },
            }),
            proxyHeaders: proxyHeadersSchema,
            proxyMetadata: obj(
              "Env for every injected proxy, as Istio's defaultConfig.proxyMetadata; a pod's proxy.istio.io/config proxyMetadata overrides it. Weft's proxy reads SECRET_TTL.",
              {
                SECRET_TTL: str(
                  "The lifetime of the workload certificates the sidecars ask the mesh CA for, such as 12h or 30m (Istio's SECRET_TTL; unset: the CA's default, 24h). Takes effect as pods are (re)created.",
                  {
                    pattern: DURATION,
                    maxLength: 32,
                    "x-kubernetes-validations": [{ rule: SECRET_TTL_RULE, message: SECRET_TTL_MESSAGE }],
                  },
                ),
              },
            ),
          },
        ),
        defaultRetryPolicy: obj("Retries for routes that set none (Istio's default: 2 attempts).", {
          attempts: { type: "integer", description: "Retries per request.", minimum: 0, maximum: 100, default: 2 },
          retryOn: str("Comma-separated Envoy retry conditions.", {
            pattern: "^[a-z0-9-]+(,[a-z0-9-]+)*$",
            default: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
          }),
          perTryTimeout: str("Timeout of each attempt, such as 500ms or 2s. Unset: none.", { pattern: DURATION }),
        }),
        accessLog: obj("Proxy access logs.", {
          enabled: bool("Write an access log line per request.", false),
          encoding: str("Log line format.", { enum: ["JSON", "TEXT"], default: "JSON" }),
        }),
        tracing: obj("Trace sampling.", {
          sampling: {
            type: "number",
            description: "Percentage of requests traced, 0 to 100.",
            minimum: 0,
            maximum: 100,
            default: 1,
          },
          zipkin: {
            type: "object",
            description: "Export spans to a Zipkin collector (Zipkin v2 JSON); Istio's defaultConfig.tracing.zipkin.",
            properties: {
              address: str("The collector, host:port (such as zipkin.istio-system:9411).", { pattern: HOST_PORT }),
            },
            required: ["address"],
          },
          openTelemetry: {
            type: "object",
            description:
              "Export spans to an OpenTelemetry collector over OTLP/HTTP (JSON); Istio's opentelemetry extension provider. Takes precedence over zipkin.",
            properties: {
              service: str("The collector's host (such as otel-collector.observability.svc.cluster.local).", {
                pattern: HOST,
              }),
              port: { type: "integer", description: "The collector's OTLP/HTTP port.", minimum: 1, maximum: 65535 },
              path: str("Where spans are POSTed.", { pattern: ABSOLUTE_PATH, default: "/v1/traces" }),
            },
            required: ["service", "port"],
          },
        }),
        ...providerProperties,
      },
      { "x-kubernetes-validations": MESH_PROVIDER_RULES },
    ),
    updateStrategy: obj("How a version change is rolled out.", {
      type: str(
        "InPlace rolls weftd to the new version. RevisionBased (side-by-side revisions) is not supported yet and is reported as Reconciled=False.",
        {
          enum: ["InPlace", "RevisionBased"],
          default: "InPlace",
        },
      ),
    }),
  },
};

const condition: Schema = {
  type: "object",
  required: ["type", "status", "lastTransitionTime", "reason", "message"],
  properties: {
    type: str("Condition type: Reconciled, ControlPlaneReady, ProxiesSynced, ProxiesUpgraded or Ready."),
    status: str("True, False or Unknown.", { enum: ["True", "False", "Unknown"] }),
    reason: str("CamelCase reason of the last transition."),
    message: str("Human-readable detail."),
    lastTransitionTime: str("When the status last changed.", { format: "date-time" }),
    observedGeneration: { type: "integer", description: "The generation this condition describes." },
  },
};

export const statusSchema: Schema = {
  type: "object",
  description: "The observed state, written only by the operator.",
  properties: {
    observedGeneration: { type: "integer", description: "The generation last reconciled." },
    state: str("Healthy, or the reason of the first condition that is not True."),
    version: str("The control-plane version actually rolled out (not the one asked for)."),
    conditions: {
      type: "array",
      items: condition,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["type"],
    },
    proxies: {
      type: "object",
      description: "Proxies as reported by weftd's sync tracker.",
      properties: {
        connected: { type: "integer", description: "Proxies with an open xDS stream." },
        synced: { type: "integer", description: "Proxies that ACKed the latest config." },
        nacked: { type: "integer", description: "Proxies whose last response was a NACK." },
        versions: {
          type: "object",
          description: "Proxy count per engine version, as the proxies report running it.",
          additionalProperties: { type: "integer" },
        },
        upgraded: str(
          "n/m: injected proxies that report running the mesh's engine, of those that follow the mesh (pods pinning their proxy by annotation don't).",
        ),
      },
    },
  },
};
