import { Sandbox, SandboxInfo } from 'novita-sandbox/code-interpreter'

const sandbox = await Sandbox.create()

// List all paused sandboxes.
const paginator = Sandbox.list({ query: { state: ['paused'] } })

// Get all paused sandboxes.
const sandboxes: SandboxInfo[] = []
while (paginator.hasNext) {
  const items = await paginator.nextItems()
  sandboxes.push(...items)
}

console.log('all paused sandboxes', sandboxes)

await sandbox.kill()
