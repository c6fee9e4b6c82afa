// The wire constants the SDKs and the code inside sandboxes agree on. Imported both by the server
// and by the in-sandbox bundles (envd, interpreter), so it holds plain values and imports nothing.

/** envd's port inside a sandbox (protocol §4), where the SDK's commands and files go. */
export const envdPort = 49983;

/** The code interpreter's port inside a sandbox (protocol §5), where the SDK's runCode goes. */
export const interpreterPort = 49999;

/** Version reported to the SDK as `envdVersion`; the SDK gates features on it (protocol §4.8):
 *  0.6.2 file metadata, 0.6.3 watch entries, 0.6.4 watches of network mounts. Raise it only with
 *  what the new version's SDKs then expect served. */
export const envdVersion = '0.6.4';

/** Headers by which the SDK names the sandbox its envd / interpreter request is for (protocol
 *  §2.3), lower-cased as Node presents them; the Novita SDK sends the first, E2B's the second. */
export const sandboxIdHeaders = ['novita-sandbox-id', 'e2b-sandbox-id'] as const;

/** Headers naming the port inside that sandbox; envd's port when absent. */
export const sandboxPortHeaders = ['novita-sandbox-port', 'e2b-sandbox-port'] as const;
