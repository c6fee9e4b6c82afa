import { Sandbox } from 'novita-sandbox/code-interpreter'

const sandbox = await Sandbox.create({
  envs: {
    MY_VAR: 'my_value',
  },
})

const result = await sandbox.commands.run("echo $MY_VAR")

console.log(result)

// Output example:
// { exitCode: 0, error: undefined, stdout: 'my_value\n', stderr: '' }

await sandbox.kill()
