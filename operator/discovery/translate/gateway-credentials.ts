// A Gateway server's `tls.credentialName` (or `credentialNames`, an RSA and an ECDSA certificate), as istiod serves
// it: the Secret of that name in the gateway proxy's own namespace (never another namespace's) becomes SDS Secret
// `kubernetes://<name>` (certificate and key), and under MUTUAL and OPTIONAL_MUTUAL (the first name's)
// `kubernetes://<name>-cacert` (the CA: Secret `<name>-cacert`, else the same Secret's
// `cacert`/`ca.crt`, with its CRL under `crl`/`ca.crl`). A Secret that is missing, lacks the keys, or holds a bad PEM or a key that isn't the
// certificate's leaves the server out, with a warning naming the Gateway and field (the gateway's other servers keep
// serving). Pure.
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { Secret } from "../../../proxy/xds/resources.js";
import { TYPE } from "../../../proxy/xds/types.js";
import { CA_SUFFIX, CREDENTIAL_PREFIX, keyAndCert, rootOf, type Credential } from "../model/credentials.js";
import type { ConfigModel } from "../model/config.js";
import type { ServerTLSSettings } from "../model/istio.js";
import { withChecks, type GatewayTls } from "./gateway-listeners.js";
import type { ProxyIdentity } from "./proxy.js";

/** The Secret `namespace/name` of the model (indexed once per model). */
const indexes = new WeakMap<Credential[], Map<string, Credential>>();
export function credential(model: ConfigModel, namespace: string, name: string): Credential | undefined {
  const list = model.credentials;
  if (!list) return undefined;
  let index = indexes.get(list);
  if (!index) indexes.set(list, (index = new Map(list.map((c) => [`${c.namespace}/${c.name}`, c]))));
  return index.get(`${namespace}/${name}`);
}

const b64 = (pem: string) => Buffer.from(pem).toString("base64");

/** Why a Secret's certificate and key, or its CA, can't be served (undefined: they can); once per Secret object. */
const pairProblems = new WeakMap<Credential, string | undefined>();
const rootProblems = new WeakMap<Credential, string | undefined>();
function once(cache: WeakMap<Credential, string | undefined>, c: Credential, check: () => string | undefined) {
  if (!cache.has(c)) cache.set(c, check());
  return cache.get(c);
}

/** The certificate and key as SDS Secret `name`, or why they can't be served. */
export function pairSecret(c: Credential, name: string): Secret | string {
  const kc = keyAndCert(c);
  if ("error" in kc) return kc.error;
  const problem = once(pairProblems, c, () => {
    try {
      const cert = new X509Certificate(kc.cert);
      return cert.checkPrivateKey(createPrivateKey(kc.key)) ? undefined : "the private key is not the certificate's";
    } catch (err) {
      // Node's message names the PEM problem, never the bytes.
      return `not a PEM certificate and private key (${(err as Error).message})`;
    }
  });
  if (problem) return problem;
  return {
    "@type": TYPE.secret,
    name,
    tls_certificate: {
      certificate_chain: { inline_bytes: b64(kc.cert) },
      private_key: { inline_bytes: b64(kc.key) },
    },
  };
}

/** The CA as SDS Secret `name`, or why it can't be served. */
export function rootSecret(c: Credential, name: string): Secret | string {
  const root = rootOf(c);
  if ("error" in root) return root.error;
  const problem = once(rootProblems, c, () => {
    // The CRL is only looked at for its PEM label here: the proxy loads it (and refuses a bad one).
    if (root.crl && !root.crl.includes("-----BEGIN X509 CRL-----")) return "the CRL is not a PEM X509 CRL";
    try {
      new X509Certificate(root.ca);
      return undefined;
    } catch (err) {
      return `not a PEM CA certificate (${(err as Error).message})`;
    }
  });
  return (
    problem ?? {
      "@type": TYPE.secret,
      name,
      // As istiod's toEnvoyCaSecret: the Secret's CRL goes with its CA.
      validation_context: {
        trusted_ca: { inline_bytes: b64(root.ca) },
        ...(root.crl ? { crl: { inline_bytes: b64(root.crl) } } : {}),
      },
    }
  );
}

/** As istiod's GetCaCert: the CA of credential `name` is Secret `<name>-cacert` if there is one, else `<name>`'s own. */
export function caCredential(model: ConfigModel, namespace: string, name: string): Credential | undefined {
  return credential(model, namespace, name + CA_SUFFIX) ?? credential(model, namespace, name);
}

/**
 * Why a router proxy may not have its namespace's Secrets, or undefined when it may: its ServiceAccount was denied
 * them (credentialsDenied), or it connected on plaintext xDS (its namespace unverified) where `overPlaintext` (local
 * mode's own files) doesn't allow it.
 */
export function credentialRefusal(proxy: ProxyIdentity, overPlaintext: boolean): string | undefined {
  if (proxy.credentialsDenied) return proxy.credentialsDenied;
  if (proxy.mtls === true || overPlaintext) return undefined;
  return "this proxy connected on plaintext xDS, so its namespace is not verified: Secrets are served only over 15012 with its workload certificate";
}

/** A certificate's key type as Envoy's server contexts tell them apart (RSA, ECDSA), or its algorithm's name. */
function keyType(c: Credential): string {
  const kc = keyAndCert(c);
  const type = "cert" in kc ? new X509Certificate(kc.cert).publicKey.asymmetricKeyType : undefined;
  return type === "rsa" ? "RSA" : type === "ec" ? "ECDSA" : String(type);
}

/**
 * A server's TLS from its credentialName (or credentialNames: an RSA and an ECDSA certificate, the proxy presenting
 * the one a client can verify), with the Secrets to serve; or the warning why the server is left out.
 */
export function credentialTls(
  model: ConfigModel,
  namespace: string,
  tls: ServerTLSSettings,
  where: string,
): { tls: GatewayTls; secrets: Secret[] } | { warning: string } {
  const several = !!tls.credentialNames?.length;
  const names = several ? (tls.credentialNames as string[]) : [tls.credentialName as string];
  const field = `${where}.tls.${several ? "credentialNames" : "credentialName"}`;
  const left = (why: string) => ({ warning: `${field}: ${why}; the server is left out` });
  const pairs: Secret[] = [];
  const types = new Map<string, string>();
  for (const name of names) {
    const found = credential(model, namespace, name);
    if (!found) return left(`secret ${namespace}/${name} not found (a gateway reads Secrets of its own namespace)`);
    const pair = pairSecret(found, CREDENTIAL_PREFIX + name);
    if (typeof pair === "string") return left(`secret ${namespace}/${name}: ${pair}`);
    // As Envoy's server contexts (the proxy would refuse the listener): one certificate of each key type.
    const type = keyType(found);
    const other = types.get(type);
    if (several && (other || (type !== "RSA" && type !== "ECDSA")))
      return left(
        other
          ? `secrets ${namespace}/${other} and ${namespace}/${name} both hold an ${type} certificate: give one RSA and one ECDSA`
          : `secret ${namespace}/${name} holds an ${type} certificate: give one RSA and one ECDSA`,
      );
    types.set(type, name);
    pairs.push(pair);
  }
  const certificates = names.map((n) => CREDENTIAL_PREFIX + n);
  const optional = tls.mode === "OPTIONAL_MUTUAL";
  if (tls.mode !== "MUTUAL" && !optional)
    return { tls: { kind: "sds", certificates, clientCa: undefined }, secrets: pairs };
  // As istiod's ApplyCredentialSDSToServerCommonTLSContext: the first name's CA checks every client.
  const first = names[0] as string;
  const caName = first + CA_SUFFIX;
  const caFrom = caCredential(model, namespace, first) as Credential;
  const ca = rootSecret(caFrom, CREDENTIAL_PREFIX + caName);
  if (typeof ca === "string") return left(`secret ${namespace}/${caFrom.name} (${tls.mode}'s CA): ${ca}`);
  const clientCa = CREDENTIAL_PREFIX + caName;
  return {
    tls: { kind: "sds", certificates, clientCa, ...(optional ? { optional } : {}), ...withChecks(tls) },
    secrets: [...pairs, ca],
  };
}
