// The ADS client against a scripted server: what it sends for a subscription, an ACK, a NACK, a subscription
// made while a response is checked, and after the server drops the stream.
import { Server, ServerCredentials, type ServerDuplexStream } from "@grpc/grpc-js";
import { adsService, type DiscoveryRequest, type DiscoveryResponse } from "./ads.js";
import { AdsClient } from "./client.js";
import type { GrpcTls } from "./grpc.js";
import { TYPE } from "./types.js";

type Stream = ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

/** A server that hands each stream and each request to the test, in order. */
class ScriptedServer {
  readonly server = new Server();
  private readonly requests: DiscoveryRequest[] = [];
  private readonly waiters: ((r: DiscoveryRequest) => void)[] = [];
  private readonly streamWaiters: ((s: Stream) => void)[] = [];
  private readonly streams: Stream[] = [];
  port = 0;

  async start(): Promise<void> {
    this.server.addService(adsService, {
      StreamAggregatedResources: (stream: Stream) => {
        stream.on("data", (r: DiscoveryRequest) => {
          const w = this.waiters.shift();
          if (w) w(r);
          else this.requests.push(r);
        });
        stream.on("error", () => undefined);
        const w = this.streamWaiters.shift();
        if (w) w(stream);
        else this.streams.push(stream);
      },
    });
    this.port = await new Promise((resolve, reject) =>
      this.server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
  }

  request(): Promise<DiscoveryRequest> {
    const r = this.requests.shift();
    return r ? Promise.resolve(r) : new Promise((resolve) => this.waiters.push(resolve));
  }

  stream(): Promise<Stream> {
    const s = this.streams.shift();
    return s ? Promise.resolve(s) : new Promise((resolve) => this.streamWaiters.push(resolve));
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }
}

const response = (type: string, version: string, nonce: string): DiscoveryResponse => ({
  type_url: type,
  version_info: version,
  nonce,
  resources: [],
});
const brief = (r: DiscoveryRequest) => ({
  type: r.type_url,
  names: r.resource_names,
  version: r.version_info,
  nonce: r.response_nonce,
  error: r.error_detail?.message || undefined,
});

describe("AdsClient", () => {
  let server: ScriptedServer;
  let client: AdsClient | undefined;

  beforeEach(async () => {
    server = new ScriptedServer();
    await server.start();
  });
  afterEach(async () => {
    client?.close();
    await server.stop();
  });

  it("subscribes, ACKs what the check accepts, NACKs what it rejects, and resumes on a new stream with the ACKed versions", async () => {
    const verdicts = ["", "bad cluster", ""];
    client = new AdsClient({
      server: `127.0.0.1:${server.port}`,
      node: { id: "sidecar~10.0.0.1~a.ns~ns.svc.cluster.local" },
      backoffMs: [10, 50],
      onResponse: (r) => {
        const verdict = verdicts.shift();
        // Names learnt from a response are subscribed after its ACK, as Envoy orders them.
        if (r.type_url === TYPE.cluster && !verdict) client?.subscribe(TYPE.endpoint, ["b", "a"]);
        return verdict || undefined;
      },
    });
    client.subscribe(TYPE.cluster);
    const first = await server.stream();
    const hello = await server.request();
    expect(hello.node?.id).toBe("sidecar~10.0.0.1~a.ns~ns.svc.cluster.local");
    expect(brief(hello)).toEqual({ type: TYPE.cluster, names: [], version: "", nonce: "", error: undefined });

    first.write(response(TYPE.cluster, "1", "n1"));
    expect(brief(await server.request())).toEqual({
      type: TYPE.cluster,
      names: [],
      version: "1",
      nonce: "n1",
      error: undefined,
    });
    expect(brief(await server.request())).toEqual({
      type: TYPE.endpoint,
      names: ["a", "b"],
      version: "",
      nonce: "",
      error: undefined,
    });

    first.write(response(TYPE.cluster, "2", "n2"));
    expect(brief(await server.request())).toEqual({
      type: TYPE.cluster,
      names: [],
      version: "1",
      nonce: "n2",
      error: "bad cluster",
    });
    expect(client.ackedVersion(TYPE.cluster)).toBe("1");

    first.write(response(TYPE.endpoint, "1", "e1"));
    expect(brief(await server.request())).toEqual({
      type: TYPE.endpoint,
      names: ["a", "b"],
      version: "1",
      nonce: "e1",
      error: undefined,
    });

    // The server goes away: the client reconnects and asks again, in warming order, for what it holds.
    first.end();
    await server.stream();
    expect([brief(await server.request()), brief(await server.request())]).toEqual([
      { type: TYPE.cluster, names: [], version: "1", nonce: "", error: undefined },
      { type: TYPE.endpoint, names: ["a", "b"], version: "1", nonce: "", error: undefined },
    ]);
  });

  it("without a check, hands responses to the caller in order and sends nothing on its own", async () => {
    client = new AdsClient({ server: `127.0.0.1:${server.port}`, node: { id: "n" }, backoffMs: false });
    client.request({ type_url: TYPE.listener, resource_names: [], version_info: "", response_nonce: "" });
    const stream = await server.stream();
    await server.request();
    stream.write(response(TYPE.listener, "7", "l7"));
    stream.write(response(TYPE.listener, "8", "l8"));
    expect((await client.next()).nonce).toBe("l7");
    expect((await client.next()).nonce).toBe("l8");
    client.nack(response(TYPE.listener, "8", "l8"), "no");
    expect(brief(await server.request())).toEqual({
      type: TYPE.listener,
      names: [],
      version: "",
      nonce: "l8",
      error: "no",
    });
  });

  it("keeps reconnecting when the credentials can't be read for a moment, instead of throwing out of its timer", async () => {
    let asked = 0;
    const logged: string[] = [];
    client = new AdsClient({
      server: `127.0.0.1:${server.port}`,
      node: { id: "n" },
      backoffMs: [10, 20],
      log: (line) => logged.push(line),
      // Plaintext (no TLS) but for the second time, when the root certificate's file is unreadable.
      credentials: (() => {
        if (++asked === 2) throw new Error("ENOENT: root-cert.pem");
        return undefined;
      }) as unknown as () => GrpcTls,
    });
    client.subscribe(TYPE.cluster);
    const first = await server.stream();
    await server.request();
    first.end();
    await server.stream(); // the third credentials, after a retry
    expect(asked).toBe(3);
    expect(logged.some((l) => l.includes("no credentials: ENOENT: root-cert.pem"))).toBe(true);
  });
});
