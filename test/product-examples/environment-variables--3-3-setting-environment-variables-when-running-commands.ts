import { Sandbox } from 'novita-sandbox/code-interpreter'

const sandbox = await Sandbox.create()

const result = await sandbox.commands.run('echo $MY_VAR', {
  envs: {
    MY_VAR: '123',
  },
})

console.log(result)

// Output example:
// { exitCode: 0, error: undefined, stdout: '123\n', stderr: '' }

await sandbox.kill()
