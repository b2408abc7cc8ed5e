// Test support: the ADS client (proxy/xds/client.ts) scripted by the caller, who writes each request and ACKs or
// NACKs each response itself, to test the server's side of the protocol. It does not reconnect.
import type { DiscoveryResponse } from "../../../proxy/xds/ads.js";
import { AdsClient } from "../../../proxy/xds/client.js";

export class RawAdsClient {
  private readonly ads: AdsClient;

  constructor(
    target: string,
    readonly nodeId: string,
    userAgent = "envoy",
  ) {
    this.ads = new AdsClient({ server: target, node: { id: nodeId, user_agent_name: userAgent }, backoffMs: false });
  }

  request(typeUrl: string, names: string[] = [], ack?: { version: string; nonce: string }, error?: string): void {
    this.ads.request({
      version_info: ack?.version ?? "",
      resource_names: names,
      type_url: typeUrl,
      response_nonce: ack?.nonce ?? "",
      error_detail: error ? { code: 3, message: error } : undefined,
    });
  }

  /** The next response, in arrival order. */
  next(): Promise<DiscoveryResponse> {
    return this.ads.next();
  }

  /** ACKs a response, keeping the subscription's names. */
  ack(r: DiscoveryResponse, names: string[] = []): void {
    this.request(r.type_url, names, { version: r.version_info, nonce: r.nonce });
  }

  nack(r: DiscoveryResponse, lastGoodVersion: string, error: string, names: string[] = []): void {
    this.request(r.type_url, names, { version: lastGoodVersion, nonce: r.nonce }, error);
  }

  pending(): number {
    return this.ads.pending();
  }

  close(): void {
    this.ads.close();
  }
}
