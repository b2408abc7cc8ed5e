import "reflect-metadata";
import { createHash, webcrypto, X509Certificate } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { compile } from "./config/index.js";
import { listener, routeConfig } from "../../test/support/engine/helpers.js";
import { NO_XFCC_DETAILS, rfc2253, urlEncodedPem, xfccElement, type XfccCerts } from "./xfcc.js";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
type Keys = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"];

/** A self-signed certificate with this subject (in @peculiar/x509's RFC 4514 syntax), DER. */
async function certWith(name: string): Promise<Buffer> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as unknown as Keys;
  const now = Date.now();
  const c = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3_600_000),
    signingAlgorithm: ALG,
    keys,
  });
  return Buffer.from(c.rawData);
}

describe("rfc2253: the Subject as Envoy writes it (X509_NAME_print_ex, XN_FLAG_RFC2253)", () => {
  it("reverses the RDNs, joins them with ',' and keeps the backslash escapes of , \" ; + < >", async () => {
    const der = await certWith('C=US, O=Acme\\, \\"Inc\\"\\;x, OU=a\\+b \\<c\\>, CN=partner');
    // As `openssl x509 -noout -subject -nameopt RFC2253` prints it.
    expect(rfc2253(new X509Certificate(der).subject)).toBe('CN=partner,OU=a\\+b \\<c\\>,O=Acme\\, \\"Inc\\"\\;x,C=US');
  });
  it("escapes each byte of a non-ASCII character as \\XX, and joins a multi-valued RDN with '+', reversed", async () => {
    const der = await certWith("O=x, CN=café+OU=b");
    expect(rfc2253(new X509Certificate(der).subject)).toBe("OU=b+CN=caf\\C3\\A9,O=x");
  });
  it("is empty for an empty subject", () => expect(rfc2253("")).toBe(""));
});

describe("xfccElement", () => {
  let der: Buffer;
  let certs: XfccCerts;
  beforeAll(async () => {
    der = await certWith("CN=client, O=Acme\\, Inc");
    certs = {
      localUris: ["spiffe://td/ns/istio-system/sa/gateway"],
      peerDer: der,
      peerUris: ["spiffe://td/ns/a/sa/b"],
      peerDns: ["a.example", "b.example"],
      chain: () => [der, der],
    };
  });
  const hash = () => createHash("sha256").update(der).digest("hex");

  it("is By and Hash alone when no detail is asked for", () => {
    expect(xfccElement(certs, NO_XFCC_DETAILS)).toBe(`By=spiffe://td/ns/istio-system/sa/gateway;Hash=${hash()}`);
    expect(xfccElement({ ...certs, localUris: [] }, NO_XFCC_DETAILS)).toBe(`Hash=${hash()}`);
  });

  it("writes Cert, Chain, Subject, URI, DNS in Envoy's order, each DNS SAN as its own DNS=", () => {
    const all = { cert: true, chain: true, subject: true, uri: true, dns: true };
    const pem = urlEncodedPem(der);
    expect(xfccElement(certs, all)).toBe(
      `By=spiffe://td/ns/istio-system/sa/gateway;Hash=${hash()};Cert="${pem}";Chain="${pem}${pem}";` +
        `Subject="O=Acme\\, Inc,CN=client";URI=spiffe://td/ns/a/sa/b;DNS=a.example;DNS=b.example`,
    );
  });

  it("never carries CR, LF, NUL or other bytes a header value can't: a SAN holding them is percent-encoded", () => {
    const d = { ...NO_XFCC_DETAILS, uri: true, dns: true };
    const forged = {
      ...certs,
      peerUris: ["spiffe://td/ns/a/sa/b\r\nx-evil: 1"],
      peerDns: ["a\u0000.example", "é.example"],
    };
    const element = xfccElement(forged, d);
    expect(element).toBe(
      `By=spiffe://td/ns/istio-system/sa/gateway;Hash=${hash()};URI=spiffe://td/ns/a/sa/b%0D%0Ax-evil: 1;` +
        "DNS=a%00.example;DNS=%C3%A9.example",
    );
    expect(element).toMatch(/^[\t\x20-\x7e]*$/);
  });

  it("writes Subject and URI even when empty, and one By= and URI= for each URI SAN", () => {
    const d = { ...NO_XFCC_DETAILS, uri: true, dns: true };
    expect(xfccElement({ ...certs, peerUris: [], peerDns: [] }, d)).toBe(
      `By=spiffe://td/ns/istio-system/sa/gateway;Hash=${hash()};URI=`,
    );
    expect(xfccElement({ ...certs, localUris: ["spiffe://a", "spiffe://b"], peerUris: ["u1", "u2"] }, d)).toBe(
      `By=spiffe://a;By=spiffe://b;Hash=${hash()};URI=u1;URI=u2;DNS=a.example;DNS=b.example`,
    );
  });

  it("url-encodes the PEM as Envoy: newline, space, +, / and = only", () => {
    const pem = new X509Certificate(der).toString();
    const enc = urlEncodedPem(der);
    expect(enc).toMatch(/^-----BEGIN%20CERTIFICATE-----%0A[A-Za-z0-9%]+%0A-----END%20CERTIFICATE-----%0A$/);
    expect(decodeURIComponent(enc)).toBe(pem);
  });
});

describe("set_current_client_cert_details in the HttpConnectionManager", () => {
  const withDetails = (details: Record<string, unknown>) => {
    const l = listener([]);
    const chain = (l.filter_chains as { filters: { typed_config: Record<string, unknown> }[] }[])[0]!;
    Object.assign(chain.filters[0]!.typed_config, {
      forward_client_cert_details: "SANITIZE_SET",
      set_current_client_cert_details: details,
    });
    return () => compile({ version: "1", listeners: [l], routes: [routeConfig([])], clusters: [] });
  };
  it("takes Envoy's five fields, and refuses one it doesn't know by name", () => {
    expect(withDetails({ subject: true, cert: true, chain: true, dns: true, uri: true })).not.toThrow();
    expect(withDetails({ subjct: true })).toThrow(/set_current_client_cert_details\.subjct/);
  });
});
