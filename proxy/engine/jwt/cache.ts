// Envoy's jwt_cache_config: a provider's verified tokens, so a token seen again skips parsing and the signature (its
// issuer, time window and audiences are still checked each request). Bounded (jwt_cache_size, 100 by default): the
// least recently used goes first. Keyed by the token text; a token longer than 4 KiB is not kept.
import type { Jwt } from "./token.js";

const MAX_TOKEN = 4096;

export class JwtCache {
  private readonly m = new Map<string, Jwt>();
  constructor(readonly size: number) {}

  get(token: string): Jwt | undefined {
    const jwt = this.m.get(token);
    if (jwt) {
      this.m.delete(token);
      this.m.set(token, jwt);
    }
    return jwt;
  }

  set(token: string, jwt: Jwt): void {
    if (token.length > MAX_TOKEN) return;
    this.m.delete(token);
    this.m.set(token, jwt);
    if (this.m.size > this.size) this.m.delete(this.m.keys().next().value as string);
  }

  get entries(): number {
    return this.m.size;
  }
}
