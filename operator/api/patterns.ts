// Patterns the MeshInstallation schema shares between its files (schema.ts, schema-providers.ts).

/** A Go-style duration: 500ms, 2s, 1h30m. */
export const DURATION = "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$";
/** A collector's host: a DNS name or an IPv4 address, dialled as given. */
export const HOST = "^[A-Za-z0-9.-]+$";
/** An absolute path, of a file or in a URL. */
export const ABSOLUTE_PATH = "^/[^\\s]*$";
