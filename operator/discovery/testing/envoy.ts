// Moved to test/support/discovery/envoy.ts; this re-export keeps imports from branches not yet merged working.
export * from "../../../test/support/discovery/envoy.js";
