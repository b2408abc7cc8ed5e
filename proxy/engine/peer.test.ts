import { principalOf, uriSansOf } from "./peer.js";

describe("principalOf", () => {
  it("is the first URI SAN without spiffe://, as Envoy's source.principal", () => {
    expect(principalOf("DNS:a.b, URI:spiffe://cluster.local/ns/default/sa/bookinfo-productpage")).toBe(
      "cluster.local/ns/default/sa/bookinfo-productpage",
    );
    expect(principalOf("URI:https://x/y")).toBe("https://x/y");
  });
  it("reads a URI SAN Node wrote quoted (a comma or quote in it) as the certificate holds it", () => {
    expect(principalOf('DNS:a, URI:"spiffe://td/ns/a/sa/o\'brien"')).toBe("td/ns/a/sa/o'brien");
    expect(principalOf('URI:"spiffe://td/ns/a/sa/b\\u002c c", URI:spiffe://td/ns/x/sa/y')).toBe("td/ns/a/sa/b, c");
  });
  it("is empty without a URI SAN", () => {
    expect(principalOf(undefined)).toBe("");
    expect(principalOf("DNS:a.b, IP Address:127.0.0.1")).toBe("");
  });
});

describe("uriSansOf", () => {
  it("is every URI SAN as written, spiffe:// included", () => {
    expect(uriSansOf("DNS:a.b, URI:spiffe://td/ns/a/sa/b, URI:https://x/y")).toEqual([
      "spiffe://td/ns/a/sa/b",
      "https://x/y",
    ]);
    expect(uriSansOf('URI:"spiffe://td/ns/a, b"')).toEqual(["spiffe://td/ns/a, b"]);
    expect(uriSansOf("DNS:x")).toEqual([]);
  });
});
