import { createServer, type AddressInfo } from "node:net";
import { connect } from "node:tls";
import { readClientHello } from "./client-hello.js";

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

/** A ClientHello record around `body` extensions, built by hand. */
function hello(extensions: Buffer | undefined): Buffer {
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 7),
    Buffer.from([0]), // session id
    Buffer.from([0, 2, 0x13, 0x01]), // one cipher suite
    Buffer.from([1, 0]), // null compression
    ...(extensions ? [Buffer.from([extensions.length >> 8, extensions.length & 255]), extensions] : []),
  ]);
  const message = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 255]), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1, message.length >> 8, message.length & 255]), message]);
}
const alpnExtension = (...names: string[]) => {
  const list = Buffer.concat(names.map((n) => Buffer.concat([Buffer.from([n.length]), Buffer.from(n, "latin1")])));
  const data = Buffer.concat([Buffer.from([list.length >> 8, list.length & 255]), list]);
  return Buffer.concat([Buffer.from([0, 16, data.length >> 8, data.length & 255]), data]);
};

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

  it("takes a malformed server_name extension for no ClientHello at all, as a malformed ALPN one", () => {
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
    const bad = hello(alpnExtension("istio"));
    bad[bad.length - 6] = 9; // a name length past the list's end
    expect(readClientHello(bad)).toEqual({ kind: "raw" });
    expect(readClientHello(hello(Buffer.from([0, 16, 0, 2, 0, 0])))).toEqual({ kind: "raw" }); // an empty ALPN list
    expect(readClientHello(hello(undefined))).toEqual({ kind: "tls", alpn: [] });
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
