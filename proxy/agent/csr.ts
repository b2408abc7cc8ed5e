// The agent's certificate signing request to the mesh CA: a fresh P-256 key and a PKCS#10 CSR (RFC 2986) asking for
// the workload's SPIFFE URIs as its only SANs, with an empty subject, as istio-agent sends. DER written here with
// node:crypto, not an X.509 library: the sidecar needs only this, and @peculiar/x509 with its polyfills cost the agent
// 7.6 MB of private memory. The CA parses it with the library (operator/runtime/pki.ts csrProblem); tests check both
// that and OpenSSL's reading.
import { generateKeyPair, sign, type KeyObject } from "node:crypto";
import { promisify } from "node:util";

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  extensionRequest: "1.2.840.113549.1.9.14",
  subjectAltName: "2.5.29.17",
} as const;

function length(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** A DER element: tag, length, contents. */
function der(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag, ...length(body.length)]), body]);
}

const sequence = (...c: Buffer[]) => der(0x30, ...c);

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split(".").map(Number);
  const bytes = [a * 40 + b];
  for (const arc of rest) {
    const base128: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) base128.unshift(0x80 | (v & 0x7f));
    bytes.push(...base128);
  }
  return der(0x06, Buffer.from(bytes));
}

/** SubjectAltName's GeneralNames: each URI a uniformResourceIdentifier ([6] IMPLICIT IA5String). */
function subjectAltNames(uris: readonly string[]): Buffer {
  for (const u of uris)
    if (!/^[\x21-\x7e]+$/.test(u))
      throw new Error(`SAN URI ${JSON.stringify(u)} is not printable ASCII without spaces`);
  return sequence(...uris.map((u) => der(0x86, Buffer.from(u, "ascii"))));
}

/** The CertificationRequestInfo to sign: version 0, empty subject, the key, and the SANs as an extensionRequest. */
function requestInfo(publicKey: KeyObject, uris: readonly string[]): Buffer {
  const extensions = uris.length
    ? [
        sequence(
          oid(OID.extensionRequest),
          der(0x31, sequence(sequence(oid(OID.subjectAltName), der(0x04, subjectAltNames(uris))))),
        ),
      ]
    : [];
  return sequence(
    der(0x02, Buffer.from([0])),
    sequence(),
    publicKey.export({ type: "spki", format: "der" }),
    der(0xa0, ...extensions),
  );
}

function pem(label: string, body: Buffer): string {
  const lines = body.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** A fresh P-256 key and a CSR for it asking for `uris` as its only SANs, both PEM. */
export async function createCsr(uris: readonly string[]): Promise<{ csrPem: string; keyPem: string }> {
  const { publicKey, privateKey } = await promisify(generateKeyPair)("ec", { namedCurve: "P-256" });
  const info = requestInfo(publicKey, uris);
  const signature = sign("sha256", info, { key: privateKey, dsaEncoding: "der" });
  const csr = sequence(info, sequence(oid(OID.ecdsaWithSha256)), der(0x03, Buffer.from([0]), signature));
  return {
    csrPem: pem("CERTIFICATE REQUEST", csr),
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
  };
}
