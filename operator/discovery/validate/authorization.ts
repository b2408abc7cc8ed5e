// AuthorizationPolicy (security.istio.io): its fields (strict, as istio/api security/v1beta1/authorization.proto
// defines them) and what Weft's RBAC can enforce. Anything it can't is refused here, naming the field, so that no
// policy is accepted and then not enforced. Pure.
import type { AuthorizationPolicy } from "../model/security.js";
import type { Fields, Shape } from "./shape.js";
import { cidr } from "../../../proxy/xds/ip.js";
import { claimPath } from "../translate/authz-jwt.js";

const str = "string" as const;
const strings: Shape = { list: str };
const obj = (fields: Fields): Shape => ({ fields });

const source = obj({
  principals: strings,
  notPrincipals: strings,
  requestPrincipals: strings,
  notRequestPrincipals: strings,
  namespaces: strings,
  notNamespaces: strings,
  serviceAccounts: strings,
  notServiceAccounts: strings,
  ipBlocks: strings,
  notIpBlocks: strings,
  remoteIpBlocks: strings,
  notRemoteIpBlocks: strings,
});
const operation = obj({
  hosts: strings,
  notHosts: strings,
  ports: strings,
  notPorts: strings,
  methods: strings,
  notMethods: strings,
  paths: strings,
  notPaths: strings,
});

export const AUTHORIZATION_POLICY_SHAPE: Shape = obj({
  selector: obj({ matchLabels: { map: str } }),
  targetRef: obj({ group: str, kind: str, name: str, namespace: str }),
  targetRefs: { list: obj({ group: str, kind: str, name: str, namespace: str }) },
  action: { enum: ["ALLOW", "DENY", "AUDIT", "CUSTOM"] },
  provider: obj({ name: str }),
  rules: {
    list: obj({
      from: { list: obj({ source }) },
      to: { list: obj({ operation }) },
      when: { list: obj({ key: str, values: strings, notValues: strings }) },
    }),
  },
});

/** `when` keys Weft enforces, and which kind of value each takes. */
const WHEN_KEYS: Record<string, "ip" | "port" | "string"> = {
  "source.ip": "ip",
  "remote.ip": "ip",
  "source.namespace": "string",
  "source.principal": "string",
  "source.serviceAccount": "string",
  "destination.ip": "ip",
  "destination.port": "port",
  "connection.sni": "string",
};

/** The end-user (JWT) keys: matched on what RequestAuthentication's jwt_authn filter found (translate/authz-jwt.ts). */
const JWT_KEYS = ["request.auth.principal", "request.auth.audiences", "request.auth.presenter"];

export function validateAuthorizationPolicy(spec: AuthorizationPolicy): string[] {
  const out: string[] = [];
  const s = spec as AuthorizationPolicy & { targetRef?: unknown; targetRefs?: unknown };
  if (s.action === "CUSTOM")
    out.push(
      "spec.action: CUSTOM (an external authorizer, ext_authz) is not supported by Weft; use ALLOW, DENY or AUDIT",
    );
  else if (s.provider !== undefined) out.push("spec.provider: only allowed with action CUSTOM");
  if (s.targetRef !== undefined) out.push("spec.targetRef: not supported by Weft (use spec.selector)");
  if (s.targetRefs !== undefined) out.push("spec.targetRefs: not supported by Weft (use spec.selector)");
  (spec.rules ?? []).forEach((rule, i) => {
    const rp = `spec.rules[${i}]`;
    (rule.from ?? []).forEach((f, j) => {
      const p = `${rp}.from[${j}].source`;
      const src = f.source;
      if (!src || !Object.values(src).some((v) => Array.isArray(v) && v.length))
        return out.push(`${p}: must set at least one field`);
      for (const k of [
        "principals",
        "notPrincipals",
        "requestPrincipals",
        "notRequestPrincipals",
        "namespaces",
        "notNamespaces",
      ] as const)
        values(out, src[k], `${p}.${k}`, wildcard);
      for (const k of ["serviceAccounts", "notServiceAccounts"] as const)
        values(out, src[k], `${p}.${k}`, serviceAccount);
      for (const k of ["ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks"] as const)
        values(out, src[k], `${p}.${k}`, ipBlock);
    });
    (rule.to ?? []).forEach((t, j) => {
      const p = `${rp}.to[${j}].operation`;
      const op = t.operation;
      if (!op || !Object.values(op).some((v) => Array.isArray(v) && v.length))
        return out.push(`${p}: must set at least one field`);
      for (const k of ["hosts", "notHosts", "methods", "notMethods"] as const)
        values(out, op[k], `${p}.${k}`, wildcard);
      for (const k of ["paths", "notPaths"] as const) values(out, op[k], `${p}.${k}`, path);
      for (const k of ["ports", "notPorts"] as const) values(out, op[k], `${p}.${k}`, port);
    });
    (rule.when ?? []).forEach((c, j) => {
      const p = `${rp}.when[${j}]`;
      const key = c.key ?? "";
      const header = /^request\.headers\[(.+)\]$/.exec(key);
      const jwt = JWT_KEYS.includes(key) || claimPath(key) !== undefined;
      const kind = header || jwt ? "string" : WHEN_KEYS[key];
      if (!key) out.push(`${p}.key: is required`);
      else if (key.startsWith("request.auth.claims") && !jwt)
        out.push(`${p}.key: bad key (${key}): should have format request.auth.claims[<claim name>]`);
      else if (!kind)
        out.push(
          `${p}.key: "${key}" is not supported by Weft (supported: request.headers[<name>], ${[...JWT_KEYS, "request.auth.claims[<name>]", ...Object.keys(WHEN_KEYS)].join(", ")})`,
        );
      if (!c.values?.length && !c.notValues?.length) out.push(`${p}: at least one of values or notValues must be set`);
      const check = kind === "ip" ? ipBlock : kind === "port" ? port : wildcard;
      values(out, c.values, `${p}.values`, check);
      values(out, c.notValues, `${p}.notValues`, check);
    });
  });
  return out;
}

function values(out: string[], list: unknown, path: string, check: (v: string) => string | undefined): void {
  if (!Array.isArray(list)) return;
  list.forEach((v, i) => {
    if (typeof v !== "string") return; // the shape check says so
    const err = v === "" ? "must not be empty" : check(v);
    if (err) out.push(`${path}[${i}]: ${JSON.stringify(v)} ${err}`);
  });
}

/** Istio's wildcard: `*` alone, or at the start or the end only. */
function wildcard(v: string): string | undefined {
  const inner = v.length > 1 ? v.slice(1, -1) : "";
  return inner.includes("*") ? "may have * only at the start or the end" : undefined;
}

function path(v: string): string | undefined {
  if (v.includes("{")) return "is a path template ({*}, {**}), which Weft doesn't support";
  return wildcard(v);
}

function port(v: string): string | undefined {
  return /^\d{1,5}$/.test(v) && Number(v) <= 65535 ? undefined : "is not a port number";
}

function ipBlock(v: string): string | undefined {
  const slash = v.indexOf("/");
  const address = slash < 0 ? v : v.slice(0, slash);
  const len =
    slash < 0
      ? address.includes(":")
        ? 128
        : 32
      : /^\d+$/.test(v.slice(slash + 1))
        ? Number(v.slice(slash + 1))
        : NaN;
  const r = cidr(address, len);
  return typeof r === "string" ? `is not an IP address or CIDR block (${r})` : undefined;
}

function serviceAccount(v: string): string | undefined {
  const parts = v.split("/");
  if (parts.length > 2 || parts.some((x) => !x)) return "is not <namespace>/<name> or <name>";
  return v.includes("*") ? "may not have wildcards" : undefined;
}
