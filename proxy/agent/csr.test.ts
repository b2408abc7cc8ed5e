import { execFileSync } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { csrProblem, generateCa, signCsr } from "../../operator/runtime/pki.js";
import { createCsr } from "./csr.js";

const URI = "spiffe://cluster.local/ns/prod/sa/reviews";

describe("the agent's CSR", () => {
  it("is one the mesh CA accepts for its SPIFFE URI, and the certificate it gets is for its key", async () => {
    const { csrPem, keyPem } = await createCsr([URI]);
    expect(await csrProblem(csrPem, URI)).toBeUndefined();
    const ca = await generateCa("weft test CA", 1);
    const cert = new X509Certificate(await signCsr(ca, csrPem, URI, 3_600_000));
    expect(cert.subjectAltName).toBe(`URI:${URI}`);
    expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
  });

  it("asks for its URIs only: the CA refuses it for another identity", async () => {
    const { csrPem } = await createCsr([URI]);
    expect(await csrProblem(csrPem, "spiffe://cluster.local/ns/prod/sa/admin")).toMatch(/only spiffe:.*admin may be/);
  });

  it("reads in OpenSSL: the signature verifies, the key is P-256, the SAN is the URI", async () => {
    const { csrPem } = await createCsr([URI]);
    const out = execFileSync("openssl", ["req", "-noout", "-verify", "-text"], {
      input: csrPem,
      stdio: ["pipe", "pipe", "pipe"],
    }).toString();
    expect(out).toContain("ASN1 OID: prime256v1");
    expect(out).toContain(`URI:${URI}`);
    expect(out).toContain("ecdsa-with-SHA256");
    const verify = execFileSync("sh", ["-c", "openssl req -noout -verify 2>&1"], { input: csrPem }).toString();
    expect(verify).toMatch(/verify OK/);
  });

  it("fails the CA's check when a byte of it is changed", async () => {
    const { csrPem } = await createCsr([URI]);
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\n/g, ""), "base64");
    const at = der.length - 5; // inside the signature
    der[at] = (der[at] ?? 0) ^ 0x01;
    const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${lines.join("\n")}\n-----END CERTIFICATE REQUEST-----\n`;
    expect(await csrProblem(tampered, URI)).toMatch(/does not verify|does not parse/);
  });

  it("refuses a URI that isn't printable ASCII rather than encode it wrong", async () => {
    await expect(createCsr(["spiffe://cluster.local/ns/ä/sa/x"])).rejects.toThrow(/not printable ASCII/);
  });
});
