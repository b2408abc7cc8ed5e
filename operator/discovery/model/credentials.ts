// Kubernetes Secrets as istiod reads them for a Gateway's `tls.credentialName` (pilot/pkg/credentials/kube): the
// certificate and key under `cert`/`key` (a generic Secret) or `tls.crt`/`tls.key` (kubernetes.io/tls), the CA that
// MUTUAL checks clients against under `cacert` or `ca.crt` (with a CRL under `crl` or `ca.crl`), in the same Secret or in `<name>-cacert`. Only Secrets of
// type kubernetes.io/tls or Opaque are read, and of them only these keys: nothing else a Secret holds enters the
// model. Pure.
import type { KubeObject } from "./kube.js";

/** Istio's names: the SDS resource of a credential is `kubernetes://<name>`, its CA's `kubernetes://<name>-cacert`. */
export const CREDENTIAL_PREFIX = "kubernetes://";
export const CA_SUFFIX = "-cacert";

const KEYS = ["cert", "key", "cacert", "crl", "tls.crt", "tls.key", "ca.crt", "ca.crl"] as const;
type Key = (typeof KEYS)[number];
/** The keys a credential is read from: a Secret's other keys are never kept. */
export const CREDENTIAL_KEYS: ReadonlySet<string> = new Set(KEYS);
/** The Secret types read (an unset type is Opaque). */
export const SECRET_TYPES = ["kubernetes.io/tls", "Opaque"] as const;
const READ_TYPES: ReadonlySet<string> = new Set(SECRET_TYPES);

/** A Secret's TLS material: the keys Istio reads (decoded), and the names of every key it has (for messages). */
export interface Credential {
  name: string;
  namespace: string;
  data: Partial<Record<Key, string>>;
  keys: string[];
}

/** The credential a Secret holds; undefined for a Secret of another type (a token, a docker config). */
export function credentialOf(o: KubeObject, namespace: string): Credential | undefined {
  const type = o.type ?? "Opaque";
  if (!READ_TYPES.has(type) || !o.metadata?.name) return undefined;
  const strings = (v: unknown): Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const data = strings(o.data);
  const plain = strings(o.stringData); // a manifest's stringData wins over data, as the API server merges them
  const out: Partial<Record<Key, string>> = {};
  for (const k of KEYS) {
    const v = plain[k] ?? (typeof data[k] === "string" ? Buffer.from(data[k], "base64").toString() : undefined);
    if (typeof v === "string") out[k] = v;
  }
  const keys = [...new Set([...Object.keys(data), ...Object.keys(plain)])].sort();
  return { name: o.metadata.name, namespace, data: out, keys };
}

/** Istio's truncatedKeysMessage: the first three keys, and how many more. */
function found(c: Credential): string {
  return c.keys.length < 3 ? c.keys.join(", ") : `${c.keys.slice(0, 3).join(", ")}, and ${c.keys.length - 3} more...`;
}

const has = (c: Credential, ...ks: Key[]) => ks.every((k) => c.keys.includes(k));
const filled = (c: Credential, ...ks: Key[]) => ks.every((k) => !!c.data[k]);

/** The certificate chain and key (Istio's extractKeyAndCert), or its message. */
export function keyAndCert(c: Credential): { cert: string; key: string } | { error: string } {
  if (filled(c, "cert", "key")) return { cert: c.data.cert as string, key: c.data.key as string };
  if (filled(c, "tls.crt", "tls.key")) return { cert: c.data["tls.crt"] as string, key: c.data["tls.key"] as string };
  if (has(c, "cert", "key")) return { error: `found keys "cert" and "key", but they were empty` };
  if (has(c, "tls.crt", "tls.key")) return { error: `found keys "tls.crt" and "tls.key", but they were empty` };
  return {
    error: `found secret, but didn't have expected keys (cert and key) or (tls.crt and tls.key); found: ${found(c)}`,
  };
}

/** The CA certificate and its CRL, if any (Istio's ExtractRoot: `crl` with `cacert`, `ca.crl` with `ca.crt`). */
export function rootOf(c: Credential): { ca: string; crl: string | undefined } | { error: string } {
  if (filled(c, "cacert")) return { ca: c.data.cacert as string, crl: c.data.crl || undefined };
  if (filled(c, "ca.crt")) return { ca: c.data["ca.crt"] as string, crl: c.data["ca.crl"] || undefined };
  if (has(c, "cacert")) return { error: `found key "cacert", but it was empty` };
  if (has(c, "ca.crt")) return { error: `found key "ca.crt", but it was empty` };
  return { error: `found secret, but didn't have expected keys cacert or ca.crt; found: ${found(c)}` };
}
