// Moved to test/support/discovery/adsclient.ts; this re-export keeps imports from branches not yet merged working.
export * from "../../../test/support/discovery/adsclient.js";
