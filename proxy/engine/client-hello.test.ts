import { createServer, type AddressInfo } from "node:net";
import { connect } from "node:tls";
import { readClientHello } from "./client-hello.js";
import { alpnExtension, hello, sniExtension } from "../../test/support/engine/client-hello.js";

/** The first bytes a real TLS client (Node's) sends, offering `alpn`. */
async function helloOf(alpn: string[] | undefined, servername = "app.example"): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  const bytes = new Promise<Buffer>((resolve) => {
    server.once("connection", (s) => {
      const chunks: Buffer[] = [];
      s.on("data", (d: Buffer) => {
        chunks.push(d);
        const all = Buffer.concat(chunks);
        if (readClientHello(all).kind !== "more") {
          resolve(all);
          s.destroy();
        }
      });
    });
  });
  const client = connect({ host: "127.0.0.1", port, servername, ...(alpn ? { ALPNProtocols: alpn } : {}) });
  client.on("error", () => undefined);
  const out = await bytes;
  client.destroy();
  server.close();
  return out;
}

describe("the TLS inspector's ClientHello reader", () => {
  it("reads a real client's ALPN in its order, and nothing when it offers none", async () => {
    expect(readClientHello(await helloOf(["istio-peer-exchange", "istio", "h2"]))).toEqual({
      kind: "tls",
      alpn: ["istio-peer-exchange", "istio", "h2"],
      sni: "app.example",
    });
    expect(readClientHello(await helloOf(["http/1.1"]))).toEqual({
      kind: "tls",
      alpn: ["http/1.1"],
      sni: "app.example",
    });
    expect(readClientHello(await helloOf(undefined))).toEqual({ kind: "tls", alpn: [], sni: "app.example" });
  });

  it("reads the server name a real client asks for (lower-cased), and none when it sends none", async () => {
    expect(readClientHello(await helloOf(undefined, "Shop.Example.COM"))).toEqual({
      kind: "tls",
      alpn: [],
      sni: "shop.example.com",
    });
    // Node sends no SNI for an IP address (RFC 6066 forbids literal addresses).
    expect(readClientHello(await helloOf(undefined, ""))).toEqual({ kind: "tls", alpn: [] });
  });

  it("takes a malformed server_name extension for no ClientHello at all (BoringSSL's tls_not_found)", () => {
    const sni = (data: number[]) => Buffer.from([0, 0, 0, data.length, ...data]);
    expect(readClientHello(hello(sni([0, 6, 0, 0, 3, 0x61, 0x2e, 0x62])))).toEqual({
      kind: "tls",
      alpn: [],
      sni: "a.b",
    });
    expect(readClientHello(hello(sni([0, 9, 0, 0, 9, 0x61])))).toEqual({ kind: "raw" }); // a name past its list
    expect(readClientHello(hello(sni([0, 3, 0, 0, 0])))).toEqual({ kind: "raw" }); // an empty name
  });

  it("asks for more until the whole ClientHello is there, however the bytes arrive", async () => {
    const bytes = await helloOf(["istio"]);
    for (let n = 1; n < bytes.length; n++) expect(readClientHello(bytes.subarray(0, n))).toEqual({ kind: "more" });
    // The handshake message split over two records, as a client may send a large one.
    const record = hello(alpnExtension("istio-http/1.1"));
    const message = record.subarray(5);
    const split = Buffer.concat([
      Buffer.from([0x16, 3, 1, 0, 10]),
      message.subarray(0, 10),
      Buffer.from([0x16, 3, 1, (message.length - 10) >> 8, (message.length - 10) & 255]),
      message.subarray(10),
    ]);
    expect(readClientHello(split.subarray(0, 20))).toEqual({ kind: "more" });
    expect(readClientHello(split)).toEqual({ kind: "tls", alpn: ["istio-http/1.1"] });
  });

  it("takes what isn't a ClientHello as plaintext, as Envoy's raw_buffer", () => {
    expect(readClientHello(Buffer.from("GET / HTTP/1.1\r\n"))).toEqual({ kind: "raw" });
    expect(readClientHello(Buffer.from("PRI * HTTP/2.0\r\n"))).toEqual({ kind: "raw" });
    expect(readClientHello(Buffer.from([0x16, 2, 0, 0, 5, 1, 0, 0, 1, 0]))).toEqual({ kind: "raw" }); // SSLv2-ish
    expect(readClientHello(Buffer.from([0x16, 3, 1, 0, 0]))).toEqual({ kind: "raw" }); // an empty record
    expect(readClientHello(Buffer.from([0x16, 3, 1, 0, 4, 2, 0, 0, 0]))).toEqual({ kind: "raw" }); // a ServerHello
    expect(readClientHello(hello(undefined))).toEqual({ kind: "tls", alpn: [] });
  });

  it("takes a malformed ALPN list for TLS without protocols, as Envoy's onALPN leaves it to the TLS stack", () => {
    const bad = hello(alpnExtension("istio"));
    bad[bad.length - 6] = 9; // a name length past the list's end
    expect(readClientHello(bad)).toEqual({ kind: "tls", alpn: [] });
    expect(readClientHello(hello(Buffer.from([0, 16, 0, 2, 0, 0])))).toEqual({ kind: "tls", alpn: [] }); // empty list
  });

  it("reads the server name as BoringSSL does: one host_name of 1-255 bytes without NUL, each extension once", () => {
    const tls = (sni: string) => ({ kind: "tls", alpn: [], sni });
    expect(readClientHello(hello(sniExtension("Shop.Example.com")))).toEqual(tls("shop.example.com"));
    // Lower-cased as ASCII only, as Envoy's AsciiStrToLower: other bytes are kept as they are.
    expect(readClientHello(hello(sniExtension("\xc0.EXAMPLE.com")))).toEqual(tls("\xc0.example.com"));
    expect(readClientHello(hello(sniExtension("a".repeat(255))))).toEqual(tls("a".repeat(255)));
    // What a backend behind a passthrough chain could read as another name than the one the chain was picked by:
    const twice = Buffer.concat([sniExtension("other.example.com"), sniExtension("shop.example.com")]);
    expect(readClientHello(hello(twice))).toEqual({ kind: "raw" }); // the extension twice
    const two = sniExtension("other.example.com", "shop.example.com");
    expect(readClientHello(hello(two))).toEqual({ kind: "raw" }); // two names in one list
    expect(readClientHello(hello(sniExtension("shop.example.com\0.other.net")))).toEqual({ kind: "raw" });
    expect(readClientHello(hello(sniExtension("a".repeat(256))))).toEqual({ kind: "raw" });
    expect(readClientHello(hello(sniExtension([1, Buffer.from("shop.example.com")])))).toEqual({ kind: "raw" }); // not host_name
    const alpnTwice = Buffer.concat([alpnExtension("h2"), alpnExtension("http/1.1")]);
    expect(readClientHello(hello(alpnTwice))).toEqual({ kind: "raw" });
  });

  it("takes an SSLv2-compatible ClientHello, which Node's TLS can't speak, for plaintext", () => {
    // SSLv2 record header (high bit, 2-byte length), CLIENT-HELLO, version 3.1, then the spec lengths.
    const v2 = Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10, ...Buffer.alloc(0x25)]);
    expect(readClientHello(v2)).toEqual({ kind: "raw" });
  });

  it("refuses a ClientHello larger than the limit (Envoy's client_hello_too_large)", () => {
    const big = hello(Buffer.concat([Buffer.from([0xff, 0xfe, 0x30, 0x00]), Buffer.alloc(0x3000)]));
    expect(readClientHello(big, 4096)).toEqual({ kind: "too-large" });
    expect(readClientHello(big.subarray(0, 100), 4096)).toEqual({ kind: "too-large" }); // the record says so
    expect(readClientHello(big)).toEqual({ kind: "tls", alpn: [] });
  });

  it("never throws on client bytes: every truncation and single-byte change of a ClientHello is read", async () => {
    const bytes = await helloOf(["istio-peer-exchange", "istio"]);
    for (let i = 0; i < bytes.length; i++)
      for (const v of [0, 1, 0x7f, 0xff]) {
        const b = Buffer.from(bytes);
        b[i] = v;
        expect(["more", "tls", "raw", "too-large"]).toContain(readClientHello(b).kind);
      }
  });
});
