// Test and bench support: a bare ADS client that records responses and lets the caller ACK or NACK them.
import { credentials, makeGenericClientConstructor } from "@grpc/grpc-js";
import type { ClientDuplexStream } from "@grpc/grpc-js";
import type { DiscoveryRequest, DiscoveryResponse } from "../../../proxy/xds/ads.js";
import { adsService } from "../../../proxy/xds/ads.js";

const AdsClient = makeGenericClientConstructor(adsService, "AggregatedDiscoveryService");

export class RawAdsClient {
  private readonly client: InstanceType<typeof AdsClient>;
  private readonly stream: ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  private readonly queue: DiscoveryResponse[] = [];
  private readonly waiters: ((r: DiscoveryResponse) => void)[] = [];
  readonly received: DiscoveryResponse[] = [];

  constructor(
    target: string,
    readonly nodeId: string,
    private readonly userAgent = "envoy",
  ) {
    this.client = new AdsClient(target, credentials.createInsecure());
    const method = (this.client as unknown as Record<string, () => ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>>)["StreamAggregatedResources"];
    if (!method) throw new Error("ADS client has no StreamAggregatedResources");
    this.stream = method.call(this.client);
    this.stream.on("data", (r: DiscoveryResponse) => {
      this.received.push(r);
      const w = this.waiters.shift();
      if (w) w(r);
      else this.queue.push(r);
    });
    this.stream.on("error", () => undefined);
  }

  request(typeUrl: string, names: string[] = [], ack?: { version: string; nonce: string }, error?: string): void {
    this.stream.write({
      version_info: ack?.version ?? "",
      node: { id: this.nodeId, user_agent_name: this.userAgent },
      resource_names: names,
      type_url: typeUrl,
      response_nonce: ack?.nonce ?? "",
      error_detail: error ? { code: 3, message: error } : undefined,
    });
  }

  /** The next response, in arrival order. */
  next(): Promise<DiscoveryResponse> {
    const r = this.queue.shift();
    return r ? Promise.resolve(r) : new Promise((resolve) => this.waiters.push(resolve));
  }

  /** ACKs a response, keeping the subscription's names. */
  ack(r: DiscoveryResponse, names: string[] = []): void {
    this.request(r.type_url, names, { version: r.version_info, nonce: r.nonce });
  }

  nack(r: DiscoveryResponse, lastGoodVersion: string, error: string, names: string[] = []): void {
    this.request(r.type_url, names, { version: lastGoodVersion, nonce: r.nonce }, error);
  }

  pending(): number {
    return this.queue.length;
  }

  close(): void {
    this.stream.end();
    this.client.close();
  }
}
