// Self-signed certificates and their PEM private keys for TLS tests (valid for an hour), and CRLs.
import { webcrypto } from "node:crypto";
import "reflect-metadata"; // @peculiar/x509 needs it
import * as x509 from "@peculiar/x509";
import { importKey } from "../../../operator/runtime/pki.js";

const ECDSA = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const RSA = {
  name: "RSASSA-PKCS1-v1_5",
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: "SHA-256",
};

/** A self-signed certificate, CN and SAN `name` (localhost), with an ECDSA P-256 key or (`rsa`) an RSA 2048 one. */
export async function selfSigned(name = "localhost", rsa = false): Promise<{ cert: string; key: string }> {
  // unknown: node's webcrypto is the DOM's Crypto in all but its TypeScript name (this project has no DOM lib)
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = rsa ? RSA : ECDSA;
  const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    signingAlgorithm: alg,
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"],
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "dns", value: name }])],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)).toString("base64");
  return {
    cert: cert.toString("pem"),
    key: `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/(.{64})/g, "$1\n")}\n-----END PRIVATE KEY-----\n`,
  };
}

/** A CRL from `ca` (a mesh PKI key pair) revoking the certificates given (PEM), valid for an hour. */
export async function revocationList(ca: { certPem: string; keyPem: string }, revoked: string[]): Promise<string> {
  const issuer = new x509.X509Certificate(ca.certPem);
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.subject,
    thisUpdate: new Date(Date.now() - 60_000),
    nextUpdate: new Date(Date.now() + 3_600_000),
    entries: revoked.map((pem) => ({
      serialNumber: new x509.X509Certificate(pem).serialNumber,
      revocationDate: new Date(),
    })),
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    signingKey: await importKey(ca.keyPem),
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(issuer)],
  });
  return crl.toString("pem").replace(/(BEGIN|END) CRL/g, "$1 X509 CRL"); // OpenSSL's PEM label
}
