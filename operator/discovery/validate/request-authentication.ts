// RequestAuthentication (security.istio.io): its fields (strict, as istio/api security/v1beta1/request_authentication.proto
// defines them) and istiod's webhook checks (validateJwtRule): non-empty audiences and locations, an issuer or a
// jwksUri, a jwksUri over http(s), jwks that parse, claim headers that are header names, a timeout Istio takes.
// Stricter where the proxy would refuse it: a jwks without a public key the engine verifies with, header names and
// prefixes that can't be sent. targetRef(s) are refused: Weft selects workloads by labels. Pure.
import type { RequestAuthentication } from "../model/security.js";
import type { Shape } from "./shape.js";
import { durationProblem } from "./durations.js";
import { headerNameError, headerValueError } from "../../../proxy/xds/header-field.js";
import { parseJwks } from "../../../proxy/engine/jwt/jwks.js";

const str = "string" as const;
const strings: Shape = { list: str };
const ref: Shape = { fields: { group: str, kind: str, name: str, namespace: str } };

export const REQUEST_AUTHENTICATION_SHAPE: Shape = {
  fields: {
    selector: { fields: { matchLabels: { map: str } } },
    targetRef: ref,
    targetRefs: { list: ref },
    jwtRules: {
      list: {
        fields: {
          issuer: str,
          audiences: strings,
          jwksUri: str,
          jwks: str,
          fromHeaders: { list: { fields: { name: str, prefix: str } } },
          fromParams: strings,
          fromCookies: strings,
          outputPayloadToHeader: str,
          outputClaimToHeaders: { list: { fields: { header: str, claim: str } } },
          forwardOriginalToken: "bool",
          spaceDelimitedClaims: strings,
          timeout: str,
        },
      },
    },
  },
};

/** Istio's ParseJwksURI: an http or https URL with a host. */
export function jwksUriProblem(uri: string): string | undefined {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return `${JSON.stringify(uri)} is not a URL`;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    return `URI scheme "${u.protocol.slice(0, -1)}" is not supported`;
  return u.hostname ? undefined : `${JSON.stringify(uri)} has no host`;
}

export function validateRequestAuthentication(spec: RequestAuthentication): string[] {
  const out: string[] = [];
  const s = spec as RequestAuthentication & { targetRef?: unknown; targetRefs?: unknown };
  if (s.targetRef !== undefined) out.push("spec.targetRef: not supported by Weft (use spec.selector)");
  if (s.targetRefs !== undefined) out.push("spec.targetRefs: not supported by Weft (use spec.selector)");
  (spec.jwtRules ?? []).forEach((rule, i) => {
    const p = `spec.jwtRules[${i}]`;
    (rule.audiences ?? []).forEach((a, j) => {
      if (!a) out.push(`${p}.audiences[${j}]: audience must be non-empty string`);
    });
    if (!rule.issuer && !rule.jwksUri) out.push(`${p}: issuer or jwksUri must be non-empty string`);
    if (rule.jwksUri) {
      const problem = jwksUriProblem(rule.jwksUri);
      if (problem) out.push(`${p}.jwksUri: ${problem}`);
    }
    if (rule.jwks && !parseJwks(rule.jwks).length)
      out.push(`${p}.jwks: jwks parse error: no public key Weft verifies with (RSA, EC P-256/P-384/P-521, Ed25519)`);
    (rule.fromHeaders ?? []).forEach((h, j) => {
      const hp = `${p}.fromHeaders[${j}]`;
      if (!h.name) out.push(`${hp}.name: location header name must be non-empty string`);
      else if (headerNameError(h.name)) out.push(`${hp}.name: ${headerNameError(h.name)}`);
      if (h.prefix && headerValueError(h.prefix)) out.push(`${hp}.prefix: ${headerValueError(h.prefix)}`);
    });
    (rule.fromParams ?? []).forEach((q, j) => {
      if (!q) out.push(`${p}.fromParams[${j}]: location query must be non-empty string`);
    });
    (rule.fromCookies ?? []).forEach((c, j) => {
      if (!c) out.push(`${p}.fromCookies[${j}]: cookie name must be non-empty string`);
    });
    (rule.outputClaimToHeaders ?? []).forEach((c, j) => {
      const cp = `${p}.outputClaimToHeaders[${j}]`;
      if (!c.claim || !c.header)
        out.push(`${cp}: outputClaimToHeaders header and claim value must be non-empty string`);
      else if (headerNameError(c.header)) out.push(`${cp}.header: ${headerNameError(c.header)}`);
    });
    if (rule.outputPayloadToHeader && headerNameError(rule.outputPayloadToHeader))
      out.push(`${p}.outputPayloadToHeader: ${headerNameError(rule.outputPayloadToHeader)}`);
    if (rule.timeout !== undefined) {
      const problem = durationProblem(rule.timeout, "istio");
      if (problem) out.push(`${p}.timeout: ${problem}`);
    }
  });
  return out;
}
