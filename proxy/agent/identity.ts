// The workload's identity over time: a certificate from the mesh CA at start, a new one (new key) at half its
// life, retries with backoff when the CA can't be reached or refuses (the reason is kept for /healthz/ready).
// Each new certificate goes to `onCert` (the agent swaps it into the engine's secrets).
import { readFileSync } from "node:fs";
import { requestCertificate, rotationAt, type CaClientOptions, type WorkloadCert } from "./ca-client.js";

export interface IdentityOptions {
  ca: Omit<CaClientOptions, "rootPem">;
  /** The mesh root (Istio: /var/run/secrets/istio/root-cert.pem, from ConfigMap istio-ca-root-cert). */
  rootCertFile: string;
  /** The projected ServiceAccount token, audience istio-ca (read again for every request: the kubelet rotates it). */
  tokenFile: string;
  onCert(c: WorkloadCert): Promise<void> | void;
  log(line: string): void;
  /** Retry backoff base and ceiling (ms). Default 1 s, 30 s. */
  backoffMs?: [number, number];
}

export class IdentityManager {
  current: WorkloadCert | undefined;
  /** Why the last request failed (cleared by the next certificate). */
  lastError: string | undefined;
  /** Certificates received after the first. */
  rotations = 0;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  private gotFirst: () => void = () => undefined;
  /** Resolves with the first certificate (never, if none is ever issued). */
  readonly first = new Promise<void>((resolve) => (this.gotFirst = resolve));

  constructor(private readonly o: IdentityOptions) {}

  /** Resolves once the first attempt is done (a certificate, or a failure kept in lastError and retried). */
  start(): Promise<void> {
    return this.fetch();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async fetch(): Promise<void> {
    if (this.stopped) return;
    try {
      const token = readFileSync(this.o.tokenFile, "utf8").trim();
      const rootPem = readFileSync(this.o.rootCertFile, "utf8");
      const cert = await requestCertificate({ ...this.o.ca, rootPem }, token);
      if (this.stopped) return;
      if (this.current) this.rotations++;
      this.current = cert;
      this.lastError = undefined;
      this.failures = 0;
      await this.o.onCert(cert);
      this.gotFirst();
      const at = rotationAt(cert);
      this.o.log(
        `certificate for ${cert.identity} until ${new Date(cert.notAfter).toISOString()}; next at ${new Date(at).toISOString()}`,
      );
      this.schedule(Math.max(0, at - Date.now()));
    } catch (err) {
      const e = err as Error & { details?: string };
      this.lastError = e.details || e.message;
      const [base, max] = this.o.backoffMs ?? [1000, 30_000];
      const delay = Math.min(base * 2 ** this.failures++, max);
      this.o.log(`certificate request failed: ${this.lastError}; retrying in ${delay} ms`);
      // A certificate still valid keeps serving meanwhile; retry sooner than its expiry.
      this.schedule(this.current ? Math.min(delay, Math.max(0, this.current.notAfter - Date.now()) / 2) : delay);
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.fetch(), ms);
    this.timer.unref();
  }
}
