import { X509Certificate } from "node:crypto";
import { caProblem, generateCa, issueCert } from "./pki.js";

describe("pki", () => {
  it("issues a server certificate that verifies against its CA and carries the requested names", async () => {
    const ca = await generateCa("weft-ca", 3650);
    expect(caProblem(ca)).toBeUndefined();
    const leaf = await issueCert(ca, {
      commonName: "weftd",
      dnsNames: ["weftd.weft-system.svc"],
      ips: ["127.0.0.1"],
      usage: "server",
      days: 365,
    });
    const cert = new X509Certificate(leaf.certPem);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.subjectAltName).toContain("DNS:weftd.weft-system.svc");
    expect(cert.subjectAltName).toContain("IP Address:127.0.0.1");
    expect(cert.ca).toBe(false);
  });

  it("says why a CA pair is unusable", async () => {
    const a = await generateCa("a", 3650);
    const b = await generateCa("b", 3650);
    expect(caProblem({ certPem: a.certPem, keyPem: b.keyPem })).toBe("key does not match certificate");
    expect(caProblem({ certPem: a.certPem })).toBe("certificate or key missing");
    expect(caProblem({ certPem: "garbage", keyPem: a.keyPem })).toMatch(/^unparseable/);
    expect(caProblem(await generateCa("short", 10))).toMatch(/^certificate expires/);
    const leaf = await issueCert(a, { commonName: "x", usage: "client", days: 365 });
    expect(caProblem(leaf)).toBe("certificate is not a CA");
  });
});
