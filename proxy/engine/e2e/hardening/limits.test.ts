// The HCM's connection-level limits and timeouts (connection_limit, idle_timeout, max_connection_duration,
// max_headers_count), their Envoy counters, and the NACK of HCM fields the engine doesn't implement.
import { ConfigError } from "../../config/index.js";
import { Engine } from "../../engine.js";
import { RawClient } from "./harness.js";
import { hardenedResources, runCase, startRig, type Rig } from "./setup.js";

const GET = "GET /x HTTP/1.1\r\nHost: allowed\r\n\r\n";
const LIMIT = {
  name: "envoy.filters.network.connection_limit",
  typed_config: {
    "@type": "type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit",
    stat_prefix: "cl",
    max_connections: 2,
  },
};

describe("connection_limit", () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({}, [LIMIT]);
  });
  afterAll(() => rig.stop());

  it("closes connections past connection_limit's max_connections at once, and counts them", async () => {
    const a = new RawClient(rig.port);
    const b = new RawClient(rig.port);
    expect((await a.send(GET)).status).toBe(200);
    expect((await b.send(GET)).status).toBe(200);
    const c = new RawClient(rig.port);
    await c.until(() => false);
    expect([c.closed, c.text]).toEqual([true, ""]);
    const stats = rig.engine.statsText();
    expect(stats).toMatch(/^listener\.http\.downstream_cx_overflow: 1$/m);
    expect(stats).toMatch(/^connection_limit\.cl\.limited_connections: 1$/m);
    a.close();
    await a.until(() => false);
    await new Promise((r) => setImmediate(r));
    const d = new RawClient(rig.port); // a slot is free again
    expect((await d.send(GET)).status).toBe(200);
    b.close();
    d.close();
  });
});

describe("connection timeouts and head limits", () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({
      common_http_protocol_options: { idle_timeout: "0.3s", max_connection_duration: "1.5s", max_headers_count: 5 },
    });
  });
  afterAll(() => rig.stop());

  it("closes a connection idle for idle_timeout", async () => {
    const c = new RawClient(rig.port);
    expect((await c.send(GET)).status).toBe(200);
    await c.until(() => false);
    expect(c.closed).toBe(true);
    expect(rig.engine.statsText()).toMatch(/^http\.hardened\.downstream_cx_idle_timeout: [1-9]\d*$/m);
  });

  it("ends a busy connection at max_connection_duration, between requests", async () => {
    const c = new RawClient(rig.port);
    const started = Date.now();
    // Keep it busy (never idle for idle_timeout) until the proxy ends it; bounded in case it never does.
    while (!c.closed && Date.now() - started < 15_000) {
      const before = c.text.length;
      c.socket.write(GET);
      await c.until(() => /\r\n\r\nGET \/x$/.test(c.text.slice(before)));
    }
    expect(c.closed).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(rig.engine.statsText()).toMatch(/^http\.hardened\.downstream_cx_max_duration_reached: [1-9]\d*$/m);
  }, 20_000);

  it("answers 431 past common_http_protocol_options.max_headers_count", async () => {
    const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-${i}: v\r\n`).join("");
    expect((await runCase(rig, `GET /x HTTP/1.1\r\nHost: allowed\r\n${fields(4)}\r\n`)).reply.status).toBe(200);
    const o = await runCase(rig, `GET /x HTTP/1.1\r\nHost: allowed\r\n${fields(5)}\r\n`);
    expect(o.reply.status).toBe(431);
    expect(o.forwarded).toEqual([]);
  });
});

describe("HCM fields the engine doesn't implement", () => {
  const engine = new Engine({ adminPort: false, statsPort: false, readyPort: false });
  afterAll(() => engine.stop());
  const HP = "filter_chains\\[0\\]\\.filters\\[0\\]\\.typed_config";
  it.each([
    [{ internal_address_config: {} }, `${HP}\\.internal_address_config: not supported`],
    [{ xff_num_trusted_hops: -1 }, `${HP}\\.xff_num_trusted_hops: -1 is not a uint32`],
    [
      { path_with_escaped_slashes_action: "UNESCAPE_AND_REDIRECT" },
      `${HP}\\.path_with_escaped_slashes_action: unknown value`,
    ],
    [
      { common_http_protocol_options: { max_stream_duration: "1s" } },
      `${HP}\\.common_http_protocol_options\\.max_stream_duration: not supported`,
    ],
    [{ codec_type: "HTTP3" }, `${HP}\\.codec_type: unknown value`],
    [{ stream_idle_timeout: "-1s" }, `${HP}\\.stream_idle_timeout: must not be negative`],
    [{ max_request_headers_kb: 9000 }, `${HP}\\.max_request_headers_kb: must be an integer in \\[1, 8192\\]`],
  ])("NACKs %j, naming the field", async (hcm, message) => {
    const err = await engine.apply(hardenedResources(1, hcm)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(new RegExp(message));
  });

  it("NACKs a connection_limit it can't honour", async () => {
    const delayed = { ...LIMIT, typed_config: { ...LIMIT.typed_config, delay: "1s" } };
    await expect(engine.apply(hardenedResources(1, {}, [delayed]))).rejects.toThrow(
      /filter_chains\[0\]\.filters\[0\]\.typed_config\.delay: not supported/,
    );
  });
});
