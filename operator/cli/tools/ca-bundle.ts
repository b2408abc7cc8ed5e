// Does a webhook's caBundle verify the certificate weftd serves? Pure checks on PEM, plus one TLS dial.
import { X509Certificate } from "node:crypto";
import { connect } from "node:tls";

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates in a caBundle (base64 of PEM, as in clientConfig), or why there are none. */
export function bundleCerts(caBundle: string | undefined): X509Certificate[] | string {
  if (!caBundle) return "caBundle is empty";
  const pem = Buffer.from(caBundle, "base64").toString("utf8");
  const blocks = pem.match(PEM) ?? [];
  if (!blocks.length) return "caBundle holds no PEM certificate";
  try {
    return blocks.map((b) => new X509Certificate(b));
  } catch (err) {
    return `caBundle does not parse: ${(err as Error).message}`;
  }
}

/** Whether `leaf` is signed by one of `cas`, each valid now; else why not. */
export function verifiesLeaf(
  cas: readonly X509Certificate[],
  leaf: X509Certificate,
  now = new Date(),
): string | undefined {
  const valid = (c: X509Certificate) => new Date(c.validFrom) <= now && now <= new Date(c.validTo);
  if (!valid(leaf)) return `the served certificate is not valid now (${leaf.validFrom} to ${leaf.validTo})`;
  const issuer = cas.find((ca) => ca.subject === leaf.issuer && leaf.verify(ca.publicKey));
  if (!issuer)
    return `the caBundle (${cas.map((c) => c.subject.replace(/\n/g, ",")).join("; ")}) did not sign the served certificate (issuer ${leaf.issuer.replace(/\n/g, ",")})`;
  if (!valid(issuer)) return `the caBundle's CA expired or is not valid yet (${issuer.validTo})`;
  return undefined;
}

/** The certificate a TLS server presents (not verified here: verifiesLeaf does that against the bundle). */
export function servedCert(host: string, port: number, servername: string, timeoutMs = 5000): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, servername, rejectUnauthorized: false, timeout: timeoutMs }, () => {
      const raw = socket.getPeerX509Certificate();
      socket.end();
      if (raw) resolve(raw);
      else reject(new Error(`${host}:${port} presented no certificate`));
    });
    socket.on("timeout", () => socket.destroy(new Error(`${host}:${port}: no TLS handshake in ${timeoutMs / 1000}s`)));
    socket.on("error", (err) => reject(new Error(`${host}:${port}: ${err.message}`)));
  });
}
