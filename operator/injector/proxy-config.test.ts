import { parseProxyConfig, PROXY_CONFIG_FIELDS } from "./proxy-config.js";

const at = 'metadata.annotations["proxy.istio.io/config"]: ';

describe("proxy.istio.io/config, as the injector reads it", () => {
  it("reads the fields Weft implements", () => {
    expect(
      parseProxyConfig("binaryPath: /usr/local/bin/mosn\nproxyMetadata: {SECRET_TTL: 1h, TRUST_DOMAIN: x.y}"),
    ).toEqual({ binaryPath: "/usr/local/bin/mosn", proxyMetadata: { SECRET_TTL: "1h", TRUST_DOMAIN: "x.y" } });
    // As in Istio, a pod can turn incremental xDS off for its sidecar.
    expect(parseProxyConfig("proxyMetadata: {ISTIO_DELTA_XDS: 'false'}")).toEqual({
      proxyMetadata: { ISTIO_DELTA_XDS: "false" },
    });
    expect(parseProxyConfig(undefined)).toEqual({});
    expect(parseProxyConfig("  ")).toEqual({});
    expect(parseProxyConfig("# nothing\n")).toEqual({});
    expect(Object.keys(PROXY_CONFIG_FIELDS)).toEqual(expect.arrayContaining(["binaryPath", "proxyMetadata"]));
  });

  it.each([
    ["binaryPath: [", "not YAML"],
    ["- binaryPath: /x", "not a mapping of ProxyConfig fields"],
    ["just text", "not a mapping of ProxyConfig fields"],
    ["tracing: {}", "tracing: not implemented by Weft (it implements binaryPath, concurrency, proxyMetadata"],
    ["concurrency: -1", "concurrency: -1 is not an integer from 0 to 64"],
    ["holdApplicationUntilProxyStarts: true", "holdApplicationUntilProxyStarts: not implemented by Weft"],
    ["tracing: {sampling: 10}", "tracing: not implemented by Weft"],
    ["binaryPath: mosn", 'binaryPath: "mosn" is not an absolute path'],
    ["binaryPath: 7", "binaryPath: 7 is not an absolute path"],
    ["proxyMetadata: [SECRET_TTL]", "proxyMetadata: not a mapping"],
    ["proxyMetadata: {SECRET_TTL: soon}", 'proxyMetadata.SECRET_TTL: invalid value "soon" (want a duration'],
    ["proxyMetadata: {SECRET_TTL: 0s}", 'proxyMetadata.SECRET_TTL: invalid value "0s" (want at least 1s)'],
    ["proxyMetadata: {SECRET_TTL: {h: 1}}", "proxyMetadata.SECRET_TTL: not a string"],
    [
      "proxyMetadata: {ISTIO_DELTA_XDS: maybe}",
      'proxyMetadata.ISTIO_DELTA_XDS: invalid value "maybe" (want true or false)',
    ],
    [
      "proxyMetadata: {ISTIO_META_DNS_CAPTURE: 'true'}",
      "proxyMetadata.ISTIO_META_DNS_CAPTURE: not read by Weft's proxy (it reads ISTIO_DELTA_XDS, SECRET_TTL, TRUST_DOMAIN)",
    ],
    ["proxyMetadata: {CA_ADDR: evil:15012}", "proxyMetadata.CA_ADDR: set by the injector; a pod can't override it"],
    ["proxyMetadata: {WEFT_ENGINES_DIR: /tmp}", "proxyMetadata.WEFT_ENGINES_DIR: set by the injector"],
  ])("refuses %j, naming the annotation and the field", (text, problem) => {
    expect(() => parseProxyConfig(text)).toThrow(at + problem);
  });
});
