// Moved to test/support/discovery/bookinfo.ts; this re-export keeps imports from branches not yet merged working.
export * from "../../../test/support/discovery/bookinfo.js";
