import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { redact, SENSITIVE_FIELDS } from "./redact.js";
import { isLoopbackAddress, isLoopbackHost } from "./admin-guard.js";

function protoFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? protoFiles(join(dir, e.name)) : e.name.endsWith(".proto") ? [join(dir, e.name)] : [],
  );
}

describe("config_dump redaction", () => {
  it("knows every field Envoy's protos mark (udpa.annotations.sensitive)", () => {
    const xds = dirname(createRequire(import.meta.url).resolve("@grpc/grpc-js-xds/package.json"));
    const marked = new Set<string>();
    for (const f of protoFiles(join(xds, "deps", "envoy-api", "envoy"))) {
      for (const m of readFileSync(f, "utf8").matchAll(/(\w+)\s*=\s*\d+\s*\[[^\]]*sensitive\)\s*=\s*true/g))
        marked.add(m[1]!);
    }
    expect(marked.size).toBeGreaterThan(10);
    expect([...SENSITIVE_FIELDS].sort()).toEqual([...marked].sort());
  });

  it("redacts as Envoy does: strings read [redacted], other scalars go, the shape and @type stay", () => {
    const secret = {
      name: "default",
      tls_certificate: {
        certificate_chain: { inline_string: "CERT" },
        private_key: { inline_string: "KEY" },
        password: { filename: "/etc/pw" },
      },
      session_ticket_keys: { keys: [{ inline_bytes: "a2V5" }] },
      generic_secret: { secret: { inline_string: "s" } },
    };
    expect(redact({ secrets: [secret] })).toEqual({
      secrets: [
        {
          name: "default",
          tls_certificate: {
            certificate_chain: { inline_string: "CERT" },
            private_key: { inline_string: "[redacted]" },
            password: { filename: "[redacted]" },
          },
          session_ticket_keys: { keys: [{ inline_bytes: "[redacted]" }] },
          generic_secret: { secret: { inline_string: "[redacted]" } },
        },
      ],
    });
    const provider = {
      private_key_provider: { provider_name: "p", typed_config: { "@type": "x.Y", pin: "1234", slot: 3 } },
    };
    expect(redact(provider)).toEqual({
      private_key_provider: { provider_name: "p", typed_config: { "@type": "x.Y", pin: "[redacted]" } },
    });
    const filter = { typed_config: { "@type": "x.Router", suppress: true } };
    expect(redact(filter)).toEqual(filter); // a filter's typed_config is not a secret
  });
});

describe("admin guard", () => {
  it("tells loopback addresses and Host headers apart from the rest", () => {
    expect(["127.0.0.1", "127.9.8.7", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"].map(isLoopbackAddress)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(["0.0.0.0", "10.0.0.1", "::", "::ffff:10.0.0.1", "localhost", ""].map(isLoopbackAddress)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(["127.0.0.1:15000", "localhost", "LOCALHOST:1", "[::1]:15000", "127.0.10.2"].map(isLoopbackHost)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(
      [
        undefined,
        "",
        "evil.example",
        "127.0.0.1.evil.example",
        "localhost.evil",
        "[::2]:1",
        "127.0.0.1:1:2",
        "10.0.0.1",
      ].map(isLoopbackHost),
    ).toEqual([false, false, false, false, false, false, false, false]);
  });
});
