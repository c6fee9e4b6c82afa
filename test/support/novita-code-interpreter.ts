// Run by test/code-interpreter-novita.test.ts in a child process whose environment has only
// NOVITA_API_URL, NOVITA_DOMAIN and NODE_EXTRA_CA_CERTS: novita's code interpreter ignores
// NOVITA_SANDBOX_URL and always calls https://49999-<id>.<domain>. Prints what it saw as JSON.
import { Sandbox } from 'novita-sandbox/code-interpreter';

const sbx = await Sandbox.create();
try {
  const ctx = await sbx.createCodeContext({ cwd: '/tmp' });
  const seen = {
    value: (await sbx.runCode('x = 6\nx * 7')).text,
    state: (await sbx.runCode('x')).text,
    cwd: (await sbx.runCode('import os; os.getcwd()', { context: ctx })).text,
    listed: (await sbx.listCodeContexts()).some((c) => c.id === ctx.id),
    env: (await sbx.runCode('import os; os.environ.get("PER_RUN")', { envs: { PER_RUN: 'yes' } })).text,
    error: (await sbx.runCode('1/0')).error?.name,
    png: Boolean((await sbx.runCode('import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()')).results[0]?.png),
    javascript: (await sbx.runCode('[1, 2, 3].length', { language: 'javascript' })).text,
  };
  await sbx.removeCodeContext(ctx);
  console.log(JSON.stringify(seen));
} finally {
  await sbx.kill();
}
