// The controller runtime's Prometheus metrics, on one registry per process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class RuntimeMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: "weft_operator_reconcile_total",
    help: "Reconciles by controller and result.",
    labelNames: ["controller", "result"],
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: "weft_operator_reconcile_errors_total",
    help: "Reconciles that failed and were requeued.",
    labelNames: ["controller"],
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: "weft_operator_reconcile_duration_seconds",
    help: "Time spent in one reconcile.",
    labelNames: ["controller"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "weft_operator_workqueue_depth",
    help: "Keys waiting in the work queue.",
    labelNames: ["controller"],
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: "weft_operator_leader",
    help: "1 while this process holds the leader lease.",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
