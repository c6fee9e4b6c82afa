import { Sandbox } from 'novita-sandbox/code-interpreter'

// Create sandbox with and keep it running for 60 seconds.
const sandbox = await Sandbox.create({ timeoutMs: 60_000 })

// Retrieve sandbox information.
const info = await sandbox.getInfo()

console.log(info)

// Output example:
// {
//   sandboxId: 'i8kktl6jolbramfm8cp3k-a402f90a',
//   templateId: '23j9hy90m6r461w7nkrn',
//   name: 'code-interpreter-v1',
//   metadata: {},
//   envdVersion: '0.2.0',
//   envdAccessToken: undefined,
//   startedAt: 2025-06-30T06:46:36.096Z,
//   endAt: 2025-06-30T07:16:36.096Z
// }

await sandbox.kill()
