// A test mesh CA: a root, and leaf certificates whose only SAN is a SPIFFE URI (or a DNS name), as a mesh CA
// issues them. For mTLS tests (ECDSA P-256, valid for an hour).
import { webcrypto } from "node:crypto";
import "reflect-metadata"; // @peculiar/x509 needs it
import * as x509 from "@peculiar/x509";

export interface KeyPair {
  cert: string;
  key: string;
}

export interface TestCa {
  /** The root, PEM. */
  ca: string;
  /**
   * A leaf for `spiffe://…` (URI SAN) or DNS names; its subject `O=weft-test` unless given (RFC 4514). Issued by an
   * intermediate, `cert` is the chain a client sends: the leaf, then the intermediate.
   */
  issue(san: { uri?: string; dns?: string | string[]; subject?: string }): Promise<KeyPair>;
  /** A CA this one signs (`ca` stays this root): its leaves chain to the root through it. */
  intermediate(name: string): Promise<TestCa>;
}

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
type Keys = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"];
type SigningKey = x509.X509CertificateCreateWithKeyParams["signingKey"];

async function pem(keys: webcrypto.CryptoKeyPair): Promise<string> {
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)).toString("base64");
  return `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/(.{64})/g, "$1\n")}\n-----END PRIVATE KEY-----\n`;
}

let serial = 1;
const nextSerial = () => (serial++).toString(16).padStart(2, "0");
const hour = () => ({ notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) });
const CA_EXTENSIONS = () => [
  new x509.BasicConstraintsExtension(true, undefined, true),
  new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
];

export async function testCa(name = "weft-test-ca"): Promise<TestCa> {
  // unknown: node's webcrypto is the DOM's Crypto in all but its TypeScript name (this project has no DOM lib)
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const caKeys = await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${name}`,
    ...hour(),
    signingAlgorithm: ALG,
    keys: caKeys as unknown as Keys,
    extensions: CA_EXTENSIONS(),
  });
  return signer(root.toString("pem"), root, caKeys, "");
}

/** A TestCa whose certificates `cert` signs with `keys`; `sent` is what a client sends after its leaf. */
function signer(rootPem: string, cert: x509.X509Certificate, keys: webcrypto.CryptoKeyPair, sent: string): TestCa {
  const create = (subject: string, publicKey: webcrypto.CryptoKey, extensions: x509.Extension[]) =>
    x509.X509CertificateGenerator.create({
      serialNumber: nextSerial(),
      subject,
      issuer: cert.subject,
      ...hour(),
      signingAlgorithm: ALG,
      publicKey: publicKey as unknown as x509.PublicKeyType,
      signingKey: keys.privateKey as unknown as SigningKey,
      extensions,
    });
  return {
    ca: rootPem,
    async issue(san) {
      const leafKeys = await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
      const names: x509.JsonGeneralName[] = [];
      if (san.uri) names.push({ type: "url", value: san.uri });
      for (const dns of [san.dns ?? []].flat()) names.push({ type: "dns", value: dns });
      const leaf = await create(san.subject ?? "O=weft-test", leafKeys.publicKey, [
        new x509.SubjectAlternativeNameExtension(names, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      ]);
      return { cert: leaf.toString("pem") + (sent ? `\n${sent}` : ""), key: await pem(leafKeys) };
    },
    async intermediate(name) {
      const subKeys = await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
      const sub = await create(`CN=${name}`, subKeys.publicKey, CA_EXTENSIONS());
      return signer(rootPem, sub, subKeys, sub.toString("pem") + (sent ? `\n${sent}` : ""));
    },
  };
}
