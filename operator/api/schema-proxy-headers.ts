// spec.meshConfig.defaultConfig.proxyHeaders: Istio's ProxyConfig.ProxyHeaders, as discovery reads it
// (operator/discovery/model/mesh-proxy-headers.ts). The API server prunes fields a schema doesn't list, so the fields
// Weft's proxies can't honour are listed too, each allowing only what the proxies do anyway: set otherwise, the
// object is refused naming the field and the value, never stored and dropped.
import { FORWARD_CLIENT_CERT_MODES } from "../../proxy/engine/xfcc.js";
import type { Schema } from "./schema.js";

/** A header value: no NUL, CR or LF (Envoy's HTTP_HEADER_VALUE, not strict). */
export const HEADER_VALUE = "^[^\\x00\\r\\n]*$";

const flag = (description: string): Schema => ({ type: "boolean", description });
const message = (description: string, properties: Record<string, Schema>): Schema => ({
  type: "object",
  description,
  properties,
});
/** A field the proxies can't honour: only `does` (what they do anyway) is taken. */
const only = (does: boolean, description: string): Schema => ({ type: "boolean", enum: [does], description });

export const proxyHeadersSchema: Schema = message(
  "Istio's ProxyConfig.ProxyHeaders: the headers the proxies add, keep or drop, mesh-wide (a pod's proxy.istio.io/config can't set them in Weft).",
  {
    forwardedClientCert: {
      type: "string",
      enum: ["UNDEFINED", ...FORWARD_CLIENT_CERT_MODES],
      description:
        "What a sidecar's inbound does with x-forwarded-client-cert (Envoy's forward_client_cert_details). Unset or UNDEFINED: APPEND_FORWARD, as Istio. Gateways use gatewayTopology.forwardClientCertDetails.",
    },
    setCurrentClientCertDetails: message(
      "What a sidecar's inbound adds to x-forwarded-client-cert of the peer's certificate. Unset: subject, dns and uri on, cert and chain off, as Istio.",
      {
        subject: flag("The subject (Subject=)."),
        cert: flag("The PEM, URL-encoded (Cert=)."),
        chain: flag("The PEM chain, URL-encoded (Chain=)."),
        dns: flag("The DNS SANs (DNS=)."),
        uri: flag("The URI SANs (URI=)."),
      },
    ),
    server: message("The server header of responses.", {
      disabled: flag("Leave the app's server header as it is, and add none (Envoy's PASS_THROUGH)."),
      value: {
        type: "string",
        pattern: HEADER_VALUE,
        maxLength: 256,
        description:
          "The proxies' name in the server header. Unset: istio-envoy on a sidecar's inbound and at gateways, envoy outbound, as Istio.",
      },
    }),
    requestId: message("x-request-id.", {
      disabled: flag("Generate no x-request-id for requests without one (Envoy's generate_request_id: false)."),
    }),
    attemptCount: message("x-envoy-attempt-count.", {
      disabled: flag("Send no x-envoy-attempt-count upstream (from sidecars' outbound and gateways)."),
    }),
    metadataExchangeHeaders: message("Istio's metadata-exchange headers.", {
      mode: {
        type: "string",
        enum: ["UNDEFINED", "IN_MESH"],
        description:
          "IN_MESH: none to destinations outside the mesh. Weft's proxies send metadata-exchange headers to none, so both values are what they do.",
      },
    }),
    envoyDebugHeaders: message("Envoy's x-envoy- debug headers.", {
      disabled: flag(
        "The router adds none of its x-envoy- headers: no x-envoy-upstream-service-time to clients, no x-envoy-expected-rq-timeout-ms to apps, no x-envoy-overloaded (Envoy's suppress_envoy_headers). x-envoy-attempt-count is attemptCount's.",
      ),
    }),
    preserveHttp1HeaderCase: only(
      false,
      "Not supported by Weft (its proxies send header names in lower case): only false.",
    ),
    xForwardedHost: message("x-forwarded-host.", {
      enabled: flag(
        "A VirtualService's authority rewrite appends the host the client asked for to x-forwarded-host (Envoy's append_x_forwarded_host).",
      ),
    }),
    xForwardedPort: message("x-forwarded-port.", {
      enabled: flag(
        "At gateways, x-forwarded-port is the port the client connected to (Envoy's append_x_forwarded_port, where use_remote_address is set).",
      ),
    }),
  },
);
