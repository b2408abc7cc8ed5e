// Moved to test/support/engine/helpers.ts; this re-export keeps imports from branches not yet merged working.
export * from "../../../test/support/engine/helpers.js";
