// The code interpreter's port inside a sandbox (protocol §5), where the SDK's runCode goes.
export const interpreterPort = 49999;
