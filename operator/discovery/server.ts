// `weft discovery`: config source → debounced translate → ADS on :15010, sync state on :15014.
import { Server as GrpcServer, ServerCredentials } from "@grpc/grpc-js";
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import pino from "pino";
import { adsService } from "../../proxy/xds/ads.js";
import { envoyRoot } from "../../proxy/xds/protos.js";
import { SnapshotGenerator } from "./ads/generator.js";
import { XdsMetrics } from "./ads/metrics.js";
import { monitoringServer } from "./ads/monitoring.js";
import { AdsServer } from "./ads/server.js";
import type { AdsServerOptions, Logger } from "./ads/server.js";
import { SyncTracker } from "./ads/tracker.js";
import type { ConfigModel } from "./model/config.js";
import { PushScheduler } from "./push-scheduler.js";
import { JwksResolver } from "./sources/jwks.js";
import { jwksSources } from "./translate/request-authn.js";
import { DEFAULT_MESH, type MeshSettings } from "./model/mesh.js";
import { caService } from "../../proxy/xds/ca.js";
import { issueCert, type KeyPair } from "../runtime/pki.js";
import type { Authenticator } from "./ca/authn.js";
import { bindSecureGrpc, mtlsAuthorizer } from "./ca/secure.js";
import { caHandlers } from "./ca/service.js";
import type { MeshSource } from "./sources/mesh.js";
import { DirSource } from "./sources/dir.js";
import type { DirSnapshot } from "./sources/dir.js";

/** A config source: it reports a snapshot from start() and after every change, until stop(). */
export interface ConfigSource {
  start(): Promise<unknown>;
  stop(): void;
}

export interface DiscoveryOptions {
  /** Local mode: the directory source. */
  configDir?: string;
  /** Any other source (the Kubernetes one), built around discovery's change handler; used when set. */
  source?: (onChange: (snap: DirSnapshot) => void) => ConfigSource;
  /** The mesh settings' source (ConfigMap weft-mesh, or a file); none: Istio's defaults. */
  mesh?: (onMesh: (mesh: MeshSettings | undefined) => void) => MeshSource;
  address?: string;
  /** 0 picks a free port. */
  xdsPort?: number;
  monitoringPort?: number;
  pushDebounceMs?: number;
  log?: Logger;
  /** :15012 (the mesh CA and xDS over mTLS); none: not served. */
  secure?: SecureOptions;
  /** The engine each proxy should run (ads/server.ts); call ads.pushEngines() when its answers change. */
  engineFor?: AdsServerOptions["engineFor"];
  /** This replica's name in /debug/proxy-status (default the hostname). */
  replica?: string;
  /** Kubernetes mode: gateways' Secrets only for ServiceAccounts that may list them (ads/secret-access.ts). */
  reviewSecrets?: AdsServerOptions["reviewSecrets"];
}

export interface SecureOptions {
  /** 0 picks a free port. Istio's: 15012. */
  port: number;
  ca: KeyPair;
  authn: Authenticator;
  /** Workload certificates' lifetime (Istio's default 24 h). */
  ttlMs: number;
  /** The names of discovery's serving certificate. */
  names: { dnsNames: string[]; ips: string[] };
  /** The roots a client certificate may chain to: during a CA rotation, the old and the new (the CA Secret's
   * root-cert.pem, as published in istio-ca-root-cert). Default: the CA's certificate. */
  trustBundle?: string;
}

export interface Discovery {
  /** :15012, when served. */
  securePort?: number;
  xdsPort: number;
  monitoringPort: number;
  ads: AdsServer;
  close(): Promise<void>;
}

function listenHttp(server: HttpServer, port: number, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => resolve((server.address() as AddressInfo).port));
  });
}

/** Binds a gRPC server without TLS; resolves to the port (0 picks a free one). */
export function bindGrpc(server: GrpcServer, address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${address}:${port}`, ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
}

export async function startDiscovery(options: DiscoveryOptions): Promise<Discovery> {
  const log = options.log ?? pino({ name: "weft-discovery" });
  const address = options.address ?? "0.0.0.0";
  envoyRoot(); // load the protos before the first proxy waits on them
  // Gateway Secrets go to proxies whose namespace a workload certificate vouches for (15012). Over plaintext only in
  // local mode without a secure port (the config is the user's own files, on this machine); a cluster's discovery
  // without its mesh CA serves no gateway any Secret: a pod could claim any namespace in its node id.
  const credentialsOverPlaintext = !options.secure && options.source === undefined;
  if (!options.secure && options.source)
    log.warn({}, "no mesh CA (xDS over mTLS on 15012 is off): gateways get no credentialName Secrets");
  const generator = new SnapshotGenerator({ credentialsOverPlaintext });
  const tracker = new SyncTracker();
  const metrics = new XdsMetrics(true);
  const ads = new AdsServer({
    generator,
    tracker,
    metrics,
    log,
    engineFor: options.engineFor,
    ...(options.reviewSecrets ? { reviewSecrets: options.reviewSecrets } : {}),
  });
  let configWarnings: string[] = [];
  let rejected: DirSnapshot["rejected"] = [];

  // Envoy's field rules, checked a second after the push: the push's bytes are still moving through the streams
  // (grpc-js and the sockets take them at once, the event loop sends them on), and the check would hold them.
  const checkRules = async (version: string): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, 1000).unref());
    for (const warning of await generator.checkRules()) log.warn({ version, warning }, "Envoy would reject");
  };
  const scheduler = new PushScheduler(
    options.pushDebounceMs ?? 100,
    async (model) => {
      const startedAt = Date.now();
      const started = performance.now();
      const version = generator.setModel(model);
      for (const warning of generator.warnings) log.warn({ version, warning }, "config");
      await ads.pushAll();
      const ms = Math.round(performance.now() - started);
      log.info({ version, services: model.services.length, proxies: ads.tracker.size, startedAt, ms }, "config pushed");
      checkRules(version).catch((err: unknown) => log.warn({ error: String(err) }, "rules check failed"));
    },
    (err) => log.warn({ error: err instanceof Error ? err.message : String(err) }, "push failed"),
    () => generator.current,
  );
  // The model is the config source's, with the mesh settings in: a change of either is a new generation.
  let lastModel: ConfigModel | undefined;
  let mesh: MeshSettings | undefined;
  // RequestAuthentications' jwksUris: fetched here and inlined (sources/jwks.ts); new keys are a new generation.
  const withKeys = (model: ConfigModel): ConfigModel => {
    const jwks = resolver.keys();
    return jwks ? { ...model, mesh, jwks } : { ...model, mesh };
  };
  const resolver = new JwksResolver({
    onChange: () => {
      if (lastModel) scheduler.schedule(withKeys(lastModel));
    },
    onError: (source, error) => log.warn({ source, error }, "jwks fetch failed"),
  });
  let generation = 0;
  const onChange = (snap: DirSnapshot): void => {
    if (snap.warnings.join() !== configWarnings.join())
      for (const w of snap.warnings) log.warn({ warning: w }, "config");
    configWarnings = snap.warnings;
    rejected = snap.rejected ?? [];
    lastModel = snap.model;
    const sources = jwksSources(snap.model);
    const tracked = resolver.track(sources);
    if (!resolver.wouldFetch(sources)) return scheduler.schedule(withKeys(snap.model), snap.changedAt);
    // A new key source: wait for its first fetch (bounded by its timeout), as istiod's translation does.
    const mine = ++generation;
    void tracked.then(() => {
      if (mine === generation && lastModel) scheduler.schedule(withKeys(lastModel), snap.changedAt);
    });
  };
  const meshSource = options.mesh?.((next) => {
    mesh = next;
    log.info(
      {
        mesh: next
          ? {
              defaultRetry: next.defaultRetry,
              accessLog: next.accessLog ?? "off",
              tracingSampling: next.tracingSampling,
              tracer: next.tracer ?? "none",
            }
          : "defaults",
      },
      "mesh config read",
    );
    if (lastModel) scheduler.schedule(withKeys(lastModel));
  });
  await meshSource?.start();
  const source = options.source?.(onChange) ?? new DirSource({ dir: options.configDir ?? ".", onChange });
  await source.start();
  scheduler.flush();

  const grpc = new GrpcServer({ "grpc.keepalive_time_ms": 30_000, "grpc.max_send_message_length": 64 * 1024 * 1024 });
  grpc.addService(adsService, ads.handlers());
  const xdsPort = await bindGrpc(grpc, address, options.xdsPort ?? 15010);
  let secureGrpc: GrpcServer | undefined;
  let securePort: number | undefined;
  const sec = options.secure;
  if (sec) {
    secureGrpc = new GrpcServer({ "grpc.keepalive_time_ms": 30_000, "grpc.max_send_message_length": 64 * 1024 * 1024 });
    const trustDomain = () => mesh?.trustDomain ?? DEFAULT_MESH.trustDomain;
    secureGrpc.addService(caService, caHandlers({ ca: sec.ca, authn: sec.authn, trustDomain, ttlMs: sec.ttlMs, log }));
    const roots = sec.trustBundle ?? sec.ca.certPem;
    secureGrpc.addService(adsService, ads.handlers(mtlsAuthorizer(() => roots)));
    const serving = await issueCert(sec.ca, { commonName: "weftd", ...sec.names, usage: "server", days: 365 });
    securePort = await bindSecureGrpc(secureGrpc, address, sec.port, serving, sec.ca.certPem, roots);
  }
  const http = monitoringServer({
    tracker,
    metrics,
    generator,
    configWarnings: () => [...configWarnings, ...resolver.problems()],
    rejected: () => rejected ?? [],
    replica: options.replica ?? hostname(),
  });
  const monitoringPort = await listenHttp(http, options.monitoringPort ?? 15014, address);
  log.info({ xdsPort, securePort, monitoringPort, configDir: options.configDir }, "discovery serving");

  return {
    securePort,
    xdsPort,
    monitoringPort,
    ads,
    close: async () => {
      source.stop();
      meshSource?.stop();
      resolver.stop();
      scheduler.stop();
      ads.closeAll();
      await Promise.all(
        [grpc, secureGrpc].map(
          (g) =>
            new Promise<void>((resolve) => {
              if (!g) return resolve();
              const force = setTimeout(() => g.forceShutdown(), 5000);
              g.tryShutdown(() => {
                clearTimeout(force);
                resolve();
              });
            }),
        ),
      );
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}
