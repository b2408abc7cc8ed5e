// The version of this build of Weft. The operator installs control planes of the versions
// listed in versions.ts; this one is what the `weft` binary itself reports.
export const WEFT_VERSION = "0.2.0";
