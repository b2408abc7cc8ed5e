// Prometheus metrics of the xDS server, on a registry of its own.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class XdsMetrics {
  readonly registry = new Registry();
  readonly pushes = new Counter({
    name: "weft_xds_pushes_total",
    help: "xDS responses sent, by type",
    labelNames: ["type"],
    registers: [this.registry],
  });
  readonly pushTime = new Histogram({
    name: "weft_xds_push_time_seconds",
    help: "Time to compute and send one proxy's push",
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly connected = new Gauge({
    name: "weft_proxies_connected",
    help: "Proxies connected over ADS",
    registers: [this.registry],
  });
  readonly nacks = new Counter({
    name: "weft_xds_nacks_total",
    help: "NACKs received, by type",
    labelNames: ["type"],
    registers: [this.registry],
  });

  constructor(defaults = false) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: "weft_discovery_" });
  }
}
