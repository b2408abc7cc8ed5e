// Moved to test/support/engine/prometheus.ts; this re-export keeps imports from branches not yet merged working.
export * from "../../../test/support/engine/prometheus.js";
