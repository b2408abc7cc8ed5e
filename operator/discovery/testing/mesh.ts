// Moved to test/support/discovery/mesh.ts; this re-export keeps imports from branches not yet merged working.
export * from "../../../test/support/discovery/mesh.js";
