// envd's port inside a sandbox (protocol §4), where the SDK's commands and files go.
export const envdPort = 49983;
