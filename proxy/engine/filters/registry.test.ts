import { envoyRoot } from "../../xds/protos.js";
import { typeName } from "../../xds/types.js";
import { HTTP_FILTERS, filterByName, filterByType } from "./index.js";

describe("the HTTP filter registry", () => {
  it("knows the proto of every type URL a filter reads, so discovery can encode it and the agent decode it", () => {
    const root = envoyRoot();
    for (const f of HTTP_FILTERS)
      for (const url of f.typeUrls) expect(() => root.lookupType(typeName(url))).not.toThrow();
  });

  it("finds each filter by its name and each of its types, and by nothing else", () => {
    for (const f of HTTP_FILTERS) {
      expect(filterByName(f.name)).toBe(f);
      for (const url of f.typeUrls) expect(filterByType(typeName(url))).toBe(f);
    }
    expect(filterByName("envoy.filters.http.ext_authz")).toBeUndefined();
    expect(filterByType("envoy.extensions.filters.http.ext_authz.v3.ExtAuthz")).toBeUndefined();
  });

  it("has one terminal filter, the router", () => {
    expect(HTTP_FILTERS.filter((f) => f.terminal).map((f) => f.name)).toEqual(["envoy.filters.http.router"]);
  });
});
