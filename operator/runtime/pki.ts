// X.509 for the mesh CA and the process cluster: ECDSA P-256 keys, PEM in and out.
// @peculiar/x509 (over WebCrypto) needs the reflect-metadata polyfill, loaded here once.
import "reflect-metadata";
import { webcrypto, X509Certificate as NodeX509, createPrivateKey } from "node:crypto";
import * as x509 from "@peculiar/x509";

type Key = webcrypto.CryptoKey;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;

export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export interface CertRequest {
  commonName: string;
  organization?: string;
  dnsNames?: string[];
  ips?: string[];
  usage: "server" | "client" | "both";
  days: number;
}

async function exportKey(key: Key): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key));
  return `-----BEGIN PRIVATE KEY-----\n${der
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .trimEnd()}\n-----END PRIVATE KEY-----\n`;
}

export async function importKey(pem: string): Promise<Key> {
  const der = createPrivateKey(pem).export({ format: "der", type: "pkcs8" });
  return webcrypto.subtle.importKey("pkcs8", der, ALG, true, ["sign"]);
}

const newKeys = () => webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"]) as Promise<webcrypto.CryptoKeyPair>;
const serial = () =>
  Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString("hex")
    .replace(/^[89a-f]/, "1");
const escape = (v: string) => v.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`);

export async function generateCa(commonName: string, days: number): Promise<KeyPair> {
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${escape(commonName)}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * DAY_MS),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await exportKey(keys.privateKey) };
}

export async function issueCert(ca: KeyPair, req: CertRequest): Promise<KeyPair> {
  const keys = await newKeys();
  const caCert = new x509.X509Certificate(ca.certPem);
  const now = Date.now();
  const usages: string[] = [];
  if (req.usage !== "client") usages.push(x509.ExtendedKeyUsage.serverAuth);
  if (req.usage !== "server") usages.push(x509.ExtendedKeyUsage.clientAuth);
  const names = [
    ...(req.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(req.ips ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  const subject = `CN=${escape(req.commonName)}` + (req.organization ? `, O=${escape(req.organization)}` : "");
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + req.days * DAY_MS),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: await importKey(ca.keyPem),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(usages),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await exportKey(keys.privateKey) };
}

/** Why a CA key pair cannot be used (unparseable, not a CA, expiring, key mismatch), or undefined if it can. */
export function caProblem(pair: Partial<KeyPair>, minDaysLeft = 30): string | undefined {
  if (!pair.certPem || !pair.keyPem) return "certificate or key missing";
  try {
    const cert = new NodeX509(pair.certPem);
    if (!cert.ca) return "certificate is not a CA";
    if (Date.parse(cert.validTo) - Date.now() < minDaysLeft * DAY_MS) return `certificate expires ${cert.validTo}`;
    if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem))) return "key does not match certificate";
    return undefined;
  } catch (err) {
    return `unparseable: ${(err as Error).message}`;
  }
}

/** Why a CSR is refused for `uri` (bad signature, or a SAN other than that one), or undefined if it may be signed. */
export async function csrProblem(csrPem: string, uri: string): Promise<string | undefined> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    return `CSR does not parse: ${(err as Error).message}`;
  }
  if (!(await csr.verify().catch(() => false))) return "CSR signature does not verify";
  for (const ext of csr.extensions) {
    if (!(ext instanceof x509.SubjectAlternativeNameExtension)) continue;
    for (const n of ext.names.items)
      if (n.type !== "url" || n.value !== uri)
        return `CSR asks for SAN ${n.type}:${n.value}; only ${uri} may be issued`;
  }
  return undefined;
}

/** A workload certificate for the CSR's public key (csrProblem first): `uri` its only SAN, valid `ttlMs` from now. */
export async function signCsr(ca: KeyPair, csrPem: string, uri: string, ttlMs: number): Promise<string> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const caCert = new x509.X509Certificate(ca.certPem);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: "",
    issuer: caCert.subject,
    // Istio backdates by a minute too, for clocks a little behind.
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + ttlMs),
    signingAlgorithm: ALG,
    publicKey: csr.publicKey,
    signingKey: await importKey(ca.keyPem),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: uri }], true),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return cert.toString("pem") + "\n";
}
