import { Sandbox } from 'novita-sandbox/code-interpreter'

// Create sandbox with and keep it running for 60 seconds.
const sandbox = await Sandbox.create({
  timeoutMs: 60_000, // The units are milliseconds.
})

await sandbox.kill()
