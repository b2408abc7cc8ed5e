import { principalOf } from "./peer.js";

describe("principalOf", () => {
  it("is the first URI SAN without spiffe://, as Envoy's source.principal", () => {
    expect(principalOf("DNS:a.b, URI:spiffe://cluster.local/ns/default/sa/bookinfo-productpage")).toBe(
      "cluster.local/ns/default/sa/bookinfo-productpage",
    );
    expect(principalOf("URI:https://x/y")).toBe("https://x/y");
  });
  it("is empty without a URI SAN", () => {
    expect(principalOf(undefined)).toBe("");
    expect(principalOf("DNS:a.b, IP Address:127.0.0.1")).toBe("");
  });
});
