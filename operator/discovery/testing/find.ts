// Moved to test/support/discovery/find.ts; this re-export keeps imports from branches not yet merged working.
export * from "../../../test/support/discovery/find.js";
