// The admin port as an attacker meets it: a browser page on the same host (CSRF: it sends Origin), a hostile name
// resolving to 127.0.0.1 (DNS rebinding: it sends its own Host), a GET where a POST is needed, and /config_dump
// read for key material. Every mutating endpoint must refuse the first three and do nothing.
import { startAdmin, type AdminTarget } from "../admin.js";
import { adminCall, HOSTILE } from "./admin-client.js";
import { selfSigned } from "../../../test/support/engine/certs.js";
import { backend, cluster, get, listener, routeConfig, startEngine } from "../../../test/support/engine/helpers.js";

const TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";

describe("engine admin port", () => {
  it("refuses Origin, non-loopback Host and non-POST on every mutating endpoint, and does nothing", async () => {
    let quits = 0;
    let drains = 0;
    const target: AdminTarget = {
      ready: true,
      statsText: () => "",
      configDump: () => ({}),
      prometheus: () => Promise.resolve(""),
      drainListeners: () => void drains++,
      quit: () => void quits++,
    };
    const admin = await startAdmin(target, { adminPort: 0, statsPort: false, readyPort: false });
    try {
      for (const path of ["/drain_listeners", "/quitquitquit"]) {
        for (const [what, method, headers, status] of HOSTILE) {
          const r = await adminCall(admin.ports.admin, method, path, headers);
          expect([path, what, r.status]).toEqual([path, what, status]);
        }
      }
      expect({ quits, drains }).toEqual({ quits: 0, drains: 0 });
      // The operator's own call (curl from the pod: Host 127.0.0.1 or localhost) still works.
      expect((await adminCall(admin.ports.admin, "POST", "/drain_listeners")).status).toBe(200);
      expect((await adminCall(admin.ports.admin, "POST", "/drain_listeners", { host: "localhost:15000" })).status).toBe(
        200,
      );
      expect(drains).toBe(2);
      // Reads refuse a rebinding page too: /config_dump is not for a hostile origin to read.
      expect((await adminCall(admin.ports.admin, "GET", "/config_dump", { host: "evil.example" })).status).toBe(403);
    } finally {
      await admin.close();
    }
  });

  it("will not bind a non-loopback address", async () => {
    await expect(
      startAdmin({} as AdminTarget, { adminPort: 0, adminAddress: "0.0.0.0", statsPort: false, readyPort: false }),
    ).rejects.toThrow(/not a loopback address/);
  });

  it("/config_dump shows no key material: private keys read [redacted]", async () => {
    const { cert, key } = await selfSigned();
    expect(key).toContain("BEGIN PRIVATE KEY");
    const b = await backend("b");
    const l = listener([]);
    const chain = (l.filter_chains as Record<string, unknown>[])[0] as Record<string, unknown>;
    chain.transport_socket = {
      name: "envoy.transport_sockets.tls",
      typed_config: {
        "@type": TLS,
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { inline_string: cert }, private_key: { inline_string: key } }],
        },
      },
    };
    const { engine } = await startEngine({
      version: "1",
      listeners: [l],
      routes: [routeConfig([{ match: { prefix: "/" }, route: { cluster: "b" } }])],
      clusters: [cluster("b", [b.port])],
    });
    try {
      const dump = (await get(engine.ports.admin, "/config_dump")).body;
      const pem = key.split("\n")[1]!; // a line of the key's base64
      expect(dump).not.toContain(pem);
      expect(dump).not.toContain("PRIVATE KEY");
      expect(dump).toContain(`"private_key": {\n`);
      expect(dump).toContain('"inline_string": "[redacted]"');
      expect(dump).toContain(cert.split("\n")[1]); // the certificate is public and stays
    } finally {
      await engine.stop();
      await b.close();
    }
  });
});
