// Istio's AuthorizationPolicy (security.istio.io v1 and v1beta1 share one schema), as users write it in YAML.
// Field names follow istio/api security/v1beta1/authorization.proto.

export interface AuthorizationSource {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  serviceAccounts?: string[];
  notServiceAccounts?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
}

export interface AuthorizationOperation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

export interface AuthorizationCondition {
  key: string;
  values?: string[];
  notValues?: string[];
}

export interface AuthorizationRule {
  from?: { source?: AuthorizationSource }[];
  to?: { operation?: AuthorizationOperation }[];
  when?: AuthorizationCondition[];
}

export type AuthorizationAction = "ALLOW" | "DENY" | "AUDIT" | "CUSTOM";

export interface AuthorizationPolicy {
  selector?: { matchLabels?: Record<string, string> };
  action?: AuthorizationAction;
  rules?: AuthorizationRule[];
  provider?: { name?: string };
}

/** Istio's default root namespace: a policy there applies to the whole mesh. */
export const DEFAULT_ROOT_NAMESPACE = "istio-system";

/** PeerAuthentication's mutual TLS mode (istio/api security/v1beta1/peer_authentication.proto). */
export type PeerMtlsMode = "UNSET" | "DISABLE" | "PERMISSIVE" | "STRICT";

/** Istio's PeerAuthentication: how a workload's inbound accepts connections (mTLS, plaintext, or both). */
export interface PeerAuthentication {
  selector?: { matchLabels?: Record<string, string> };
  mtls?: { mode?: PeerMtlsMode };
  /** Per workload port (the container port, as a string key in YAML); needs a selector. */
  portLevelMtls?: Record<string, { mode?: PeerMtlsMode }>;
}

/** Where a JWT is found (istio/api security/v1beta1/request_authentication.proto JWTHeader). */
export interface JwtHeader {
  name?: string;
  prefix?: string;
}

/** One issuer's rule (JWTRule). */
export interface JwtRule {
  issuer?: string;
  audiences?: string[];
  jwksUri?: string;
  jwks?: string;
  fromHeaders?: JwtHeader[];
  fromParams?: string[];
  fromCookies?: string[];
  outputPayloadToHeader?: string;
  outputClaimToHeaders?: { header?: string; claim?: string }[];
  forwardOriginalToken?: boolean;
  spaceDelimitedClaims?: string[];
  /** A Go duration: how long discovery waits for jwksUri (Istio's default 5 s). */
  timeout?: string;
}

/** Istio's RequestAuthentication: the JWTs a workload accepts (a bad one is refused; none is allowed). */
export interface RequestAuthentication {
  selector?: { matchLabels?: Record<string, string> };
  jwtRules?: JwtRule[];
}
