// The agent's xDS client against a scripted ADS server: a CDS response that fits only once the LDS after it comes is
// taken and ACKed, the engine keeps the last whole config meanwhile and /config_dump says what it waits for.
import { Server, ServerCredentials, type ServerDuplexStream } from "@grpc/grpc-js";
import { adsService, type DiscoveryRequest, type DiscoveryResponse } from "../xds/ads.js";
import { encodeResource } from "../xds/codec.js";
import { TYPE, type JsonObject } from "../xds/types.js";
import {
  cluster as helperCluster,
  listener as helperListener,
  routeConfig,
} from "../../test/support/engine/helpers.js";
import { XdsClient } from "./xds-client.js";

const cluster = (name: string) => ({ "@type": TYPE.cluster, ...helperCluster(name, [9]) });
/** A listener whose inline table (validate_clusters defaults to true there) routes everything to `to`. */
const listener = (to: string) => {
  const l = helperListener([]);
  const { rds: _rds, ...hcm } = HCM(l);
  const route_config = routeConfig([{ match: { prefix: "/" }, route: { cluster: to } }]);
  return {
    ...l,
    "@type": TYPE.listener,
    filter_chains: [{ filters: [{ name: "hcm", typed_config: { ...hcm, route_config } }] }],
  };
};
const HCM = (l: Record<string, unknown>) =>
  (l as { filter_chains: [{ filters: [{ typed_config: JsonObject }] }] }).filter_chains[0].filters[0].typed_config;

/** One stream at a time; the test sends responses and reads the requests that answer them. */
class ScriptedAds {
  private readonly server = new Server();
  private stream: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  private readonly requests: DiscoveryRequest[] = [];
  private readonly waiters: (() => void)[] = [];
  address = "";

  async start(): Promise<void> {
    this.server.addService(adsService, {
      StreamAggregatedResources: (s: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => {
        this.stream = s;
        s.on("data", (r: DiscoveryRequest) => {
          this.requests.push(r);
          for (const w of this.waiters.splice(0)) w();
        });
        s.on("error", () => undefined);
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    this.address = `127.0.0.1:${port}`;
  }

  /** The request (subscription, ACK or NACK) that matches. */
  async request(match: (r: DiscoveryRequest) => boolean): Promise<DiscoveryRequest> {
    for (;;) {
      const found = this.requests.find(match);
      if (found) return found;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Sends a response; resolves with the client's answer to it. */
  async send(type: string, version: string, resources: object[]): Promise<DiscoveryRequest> {
    const nonce = `${type}:${version}`;
    this.stream?.write({
      version_info: version,
      type_url: type,
      nonce,
      resources: resources.map((r) => encodeResource(r as JsonObject)),
    });
    return this.request((r) => r.response_nonce === nonce);
  }

  close(): Promise<void> {
    this.stream?.end();
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }
}

describe("agent xDS client", () => {
  let ads: ScriptedAds;
  let client: XdsClient;
  const applied: string[] = [];

  beforeEach(async () => {
    ads = new ScriptedAds();
    await ads.start();
    applied.length = 0;
    client = new XdsClient({
      address: ads.address,
      node: { id: "sidecar~127.0.0.1~a.default~default.svc.cluster.local" },
      apply: async (r) => void applied.push(`${r.version}: ${(r.listeners ?? []).length} listener`),
    });
    client.start();
    await ads.request((r) => r.type_url === TYPE.listener);
  });
  afterEach(async () => {
    client.stop();
    await ads.close();
  });

  it("takes a CDS that drops a cluster the current LDS still names, keeps the engine as it was, and says so until the LDS that fits comes", async () => {
    expect((await ads.send(TYPE.cluster, "1", [cluster("a"), cluster("b")])).error_detail).toBeFalsy();
    expect((await ads.send(TYPE.listener, "1", [listener("a")])).error_detail).toBeFalsy();
    expect(applied).toEqual(["1: 1 listener"]);

    const cds = await ads.send(TYPE.cluster, "2", [cluster("b")]);
    expect(cds.error_detail).toBeFalsy(); // ACKed: LDS follows CDS in warming order and can mend it
    expect(cds.version_info).toBe("2");
    expect(applied).toEqual(["1: 1 listener"]);
    const xds = () => (client.dump()["xds"] ?? {}) as { waiting?: string; applied_version?: string };
    expect(xds()).toMatchObject({ applied_version: "1" });
    expect(xds().waiting).toMatch(
      /^CDS version 2 taken; the engine waits for the LDS or RDS that fits it \(.*unknown cluster "a"/,
    );
    expect(client.lastError).toBe(xds().waiting);

    expect((await ads.send(TYPE.listener, "2", [listener("b")])).error_detail).toBeFalsy();
    expect(applied).toEqual(["1: 1 listener", "2: 1 listener"]);
    expect(xds().waiting).toBeUndefined();
    expect(client.lastError).toBeUndefined();
  });

  it("asks discovery for the SDS secrets a listener names beyond its own, waits for them, and says which it lacks", async () => {
    await ads.send(TYPE.cluster, "1", [cluster("a")]);
    const tls = (name: string) => ({
      ...listener("a"),
      filter_chains: [
        {
          ...listener("a").filter_chains[0],
          transport_socket: {
            name: "tls",
            typed_config: {
              "@type": TYPE.downstreamTlsContext,
              common_tls_context: { tls_certificate_sds_secret_configs: [{ name, sds_config: { ads: {} } }] },
            },
          },
        },
      ],
    });
    expect((await ads.send(TYPE.listener, "1", [tls("kubernetes://shop")])).error_detail).toBeFalsy();
    const sds = await ads.request((r) => r.type_url === TYPE.secret);
    expect(sds.resource_names).toEqual(["kubernetes://shop"]);
    expect(applied).toEqual([]); // warming: the listener waits for its secret
    expect((await ads.send(TYPE.secret, "1", [])).error_detail).toBeFalsy();
    expect(client.lastError).toBe(
      'SDS version 1 taken; the engine waits for secret "kubernetes://shop", which discovery didn\'t send',
    );
    const stand = { inline_string: "x" };
    const secret = {
      "@type": TYPE.secret,
      name: "kubernetes://shop",
      tls_certificate: { certificate_chain: stand, private_key: stand },
    };
    expect((await ads.send(TYPE.secret, "2", [secret])).error_detail).toBeFalsy();
    expect(applied).toEqual(["2: 1 listener"]);
    expect(client.lastError).toBeUndefined();
  });

  it("NACKs an LDS that names a cluster CDS doesn't have, naming it, and keeps serving the last good config", async () => {
    await ads.send(TYPE.cluster, "1", [cluster("a")]);
    await ads.send(TYPE.listener, "1", [listener("a")]);
    const lds = await ads.send(TYPE.listener, "2", [listener("gone")]);
    expect(lds.error_detail?.message).toMatch(/^LDS: .*unknown cluster "gone"/);
    expect(lds.version_info).toBe("1");
    expect(applied).toEqual(["1: 1 listener"]);
  });
});
