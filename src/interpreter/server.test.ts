// The bundled interpreter on the host: the HTTP surface, contexts, and the JavaScript, TypeScript
// and Bash kernels (Python needs the sandbox's ipykernel: see test/code-interpreter.test.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ContextInfo } from './contexts.js';
import type { OutputEvent, ResultEvent } from './events.js';
import { bundleInterpreter, startInterpreter, stdoutOf, type Interpreter } from './test-harness.js';

let bundle: Awaited<ReturnType<typeof bundleInterpreter>>;
let interp: Interpreter;

before(async () => {
  bundle = await bundleInterpreter();
  interp = await startInterpreter(bundle.dir);
});

after(async () => {
  await interp?.stop();
  await bundle?.remove();
});

const types = (events: OutputEvent[]) => events.map((e) => e.type);
const errorOf = (events: OutputEvent[]) => events.find((e) => e.type === 'error') as (OutputEvent & { type: 'error' }) | undefined;
const mainText = (events: OutputEvent[]) => events.find((e): e is ResultEvent => e.type === 'result' && e.is_main_result)?.text;

async function newContext(language: string, cwd?: string): Promise<ContextInfo> {
  const res = await interp.json('POST', '/contexts', { language, cwd });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as ContextInfo;
}

describe('HTTP surface', () => {
  it('lists the default Python and JavaScript contexts from the start', async () => {
    const listed = (await interp.json('GET', '/contexts')).body as ContextInfo[];
    assert.deepEqual(listed.slice(0, 2).map((c) => [c.language, c.cwd]), [['python', interp.home], ['javascript', interp.home]]);
    // Code sent with only the language runs in the listed JavaScript context.
    await interp.execute({ code: 'var inDefault = 1', language: 'javascript' });
    assert.equal(mainText(await interp.execute({ code: 'inDefault', context_id: listed[1]!.id })), '1');
  });

  it('rejects an unsupported language with 400 naming the supported ones', async () => {
    const res = await interp.json('POST', '/contexts', { language: 'cobol' });
    assert.equal(res.status, 400);
    assert.match(String(res.body), /cobol.*python, javascript, typescript, bash/);
    const exec = await fetch(`${interp.url}/execute`, { method: 'POST', body: JSON.stringify({ code: '1', language: 'cobol' }) });
    assert.equal(exec.status, 400);
  });

  it('answers code in R or Java with an error naming the missing kernel', async () => {
    for (const [language, missing] of [['r', /R with IRkernel/], ['Java', /a JDK with IJava/]] as const) {
      const events = await interp.execute({ code: '1', language });
      assert.deepEqual(types(events), ['error', 'end_of_execution'], language);
      assert.equal(errorOf(events)?.name, 'KernelNotInstalled');
      assert.match(errorOf(events)!.value, missing);
      const res = await interp.json('POST', '/contexts', { language });
      assert.equal(res.status, 400);
      assert.match(String(res.body), missing);
    }
  });

  it('answers 404 with a message for an unknown context', async () => {
    for (const [method, pathname] of [['DELETE', '/contexts/nope'], ['POST', '/contexts/nope/restart']] as const) {
      const res = await interp.json(method, pathname);
      assert.equal(res.status, 404);
      assert.equal(res.body, 'Context nope not found');
    }
    const exec = await interp.json('POST', '/execute', { code: '1', context_id: 'nope' });
    assert.equal(exec.status, 404);
    assert.equal(exec.body, 'Context nope not found');
  });

  it('rejects context and language together, a missing code and bad env_vars', async () => {
    assert.equal((await interp.json('POST', '/execute', { code: '1', context_id: 'x', language: 'python' })).status, 400);
    assert.equal((await interp.json('POST', '/execute', { language: 'python' })).status, 400);
    assert.equal((await interp.json('POST', '/execute', { code: '1', env_vars: { A: 1 } })).status, 400);
    assert.equal((await interp.json('POST', '/execute', { code: '1', env_vars: { 'A=B': 'x' } })).status, 400);
    assert.equal((await interp.json('POST', '/execute', '{not json')).status, 400);
  });

  it('rejects a cwd that is not a directory', async () => {
    const res = await interp.json('POST', '/contexts', { language: 'bash', cwd: '/no/such/dir' });
    assert.equal(res.status, 400);
    assert.match(String(res.body), /\/no\/such\/dir/);
  });

  it('creates, lists, restarts and deletes contexts', async () => {
    const ctx = await newContext('javascript');
    assert.equal(ctx.language, 'javascript');
    assert.equal(ctx.cwd, interp.home);
    const listed = (await interp.json('GET', '/contexts')).body as ContextInfo[];
    assert.ok(listed.some((c) => c.id === ctx.id));
    // The default Python context is listed too (it exists from the start).
    assert.ok(listed.some((c) => c.language === 'python'));

    await interp.execute({ code: 'var kept = 1', context_id: ctx.id });
    assert.equal((await interp.json('POST', `/contexts/${ctx.id}/restart`)).status, 204);
    const after = await interp.execute({ code: 'typeof kept', context_id: ctx.id });
    assert.equal(mainText(after), 'undefined');

    assert.equal((await interp.json('DELETE', `/contexts/${ctx.id}`)).status, 204);
    const listedAfter = (await interp.json('GET', '/contexts')).body as ContextInfo[];
    assert.ok(!listedAfter.some((c) => c.id === ctx.id));
    assert.equal((await interp.json('POST', '/execute', { code: '1', context_id: ctx.id })).status, 404);
  });

  it('/health is 503 while the default Python kernel cannot run code', async (t) => {
    const hostHasKernel = spawnSync('python3', ['-c', 'import ipykernel, zmq']).status === 0;
    if (hostHasKernel) return t.skip('this host has ipykernel: its default kernel may be up');
    const res = await interp.json('GET', '/health');
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, { status: 'starting' });
  });
});

describe('JavaScript and TypeScript contexts', () => {
  it('keep state between executions, and a cell may declare a name again', async () => {
    const ctx = await newContext('js');
    const first = await interp.execute({ code: 'const a = 20;\nlet b = 1;\nfunction twice(x) { return 2 * x }', context_id: ctx.id });
    assert.deepEqual(types(first), ['number_of_executions', 'end_of_execution']);
    const second = await interp.execute({ code: 'const a = 21; twice(a) + b - 1', context_id: ctx.id });
    assert.equal(mainText(second), '42');
    assert.deepEqual(second.at(-2), { type: 'number_of_executions', execution_count: 2 });
  });

  it('stream console output before the result, then the count and the end', async () => {
    const events = await interp.execute({ code: 'console.log("one"); console.error("two"); ({ k: [1, 2] })', language: 'javascript' });
    assert.deepEqual(types(events), ['stdout', 'stderr', 'result', 'number_of_executions', 'end_of_execution']);
    assert.equal(stdoutOf(events), 'one\n');
    assert.equal(mainText(events), '{ k: [ 1, 2 ] }');
  });

  it('support top-level await and imports, of built-ins by bare and node: names', async () => {
    const events = await interp.execute({
      code: "import path from 'node:path';\nimport * as os from 'node:os';\nconst v = await Promise.resolve(path.join('a', 'b'));\nv + typeof os.cpus",
      language: 'javascript',
    });
    assert.equal(mainText(events), 'a/bfunction');
    const bare = await interp.execute({
      code: "import fs from 'fs';\nimport { readFile } from 'fs/promises';\nimport { sep } from 'path';\ntypeof fs.readFileSync + typeof readFile + sep",
      language: 'javascript',
    });
    assert.equal(mainText(bare), 'functionfunction/');
  });

  it('show strings without their quotes and nothing for undefined', async () => {
    assert.equal(mainText(await interp.execute({ code: '"hello"', language: 'javascript' })), 'hello');
    assert.ok(!(await interp.execute({ code: 'undefined', language: 'javascript' })).some((e) => e.type === 'result'));
  });

  it('turn a thrown error into an error event with name, message and stack', async () => {
    const events = await interp.execute({ code: 'function f() { throw new TypeError("bad thing") }\nf()', language: 'javascript' });
    const err = errorOf(events);
    assert.equal(err?.name, 'TypeError');
    assert.equal(err?.value, 'bad thing');
    assert.match(err!.traceback, /at f \(<cell \d+>:1:/);
    assert.equal(events.at(-1)?.type, 'end_of_execution');
  });

  it('report a syntax error with the line and a caret', async () => {
    const err = errorOf(await interp.execute({ code: 'let ok = 1;\nlet x = ;', language: 'javascript' }));
    assert.equal(err?.name, 'SyntaxError');
    assert.match(err!.value, /Unexpected token \(2:8\)/);
    assert.match(err!.traceback, /let x = ;\n {8}\^/);
  });

  it('strip TypeScript types and keep the state', async () => {
    const ctx = await newContext('typescript');
    await interp.execute({ code: 'interface P { n: number }\nconst p: P = { n: 2 };\nenum Color { Red, Green }', context_id: ctx.id });
    const events = await interp.execute({ code: 'const m: number = p.n * 10;\n`${m} ${Color[1]}`', context_id: ctx.id });
    assert.equal(mainText(events), '20 Green');
    const err = errorOf(await interp.execute({ code: 'const x: = 1', context_id: ctx.id }));
    assert.equal(err?.name, 'SyntaxError');
  });

  it('run in the context cwd, as the context user, with require from there', async () => {
    const dir = path.join(interp.home, 'proj');
    await mkdir(path.join(dir, 'node_modules', 'local-mod'), { recursive: true });
    await writeFile(path.join(dir, 'node_modules', 'local-mod', 'index.js'), 'module.exports = { answer: 42 }');
    const ctx = await newContext('javascript', dir);
    const events = await interp.execute({ code: "process.cwd() + ' ' + require('local-mod').answer", context_id: ctx.id });
    assert.equal(mainText(events), `${dir} 42`);
    const imported = await interp.execute({ code: "import m from 'local-mod';\nm.answer", context_id: ctx.id });
    assert.equal(mainText(imported), '42');
  });

  it('show a value with its own MIME bundle (Symbol.for("Jupyter.display"))', async () => {
    const events = await interp.execute({
      code: '({ [Symbol.for("Jupyter.display")]() { return { "text/html": "<b>x</b>", "text/plain": "x" } } })',
      language: 'javascript',
    });
    const result = events.find((e) => e.type === 'result');
    assert.equal(result?.html, '<b>x</b>');
    assert.equal(result?.text, 'x');
  });
});

describe('Bash contexts', () => {
  it('keep variables and the working directory, and report a failing status as an error', async () => {
    const ctx = await newContext('bash');
    await interp.execute({ code: 'X=hello\ncd /tmp', context_id: ctx.id });
    const events = await interp.execute({ code: 'echo "$X from $(pwd)"', context_id: ctx.id });
    assert.equal(stdoutOf(events), 'hello from /tmp\n');
    assert.equal(errorOf(events), undefined);
    const failed = await interp.execute({ code: `echo "it's \\ \x01"; ls /no/such/path`, context_id: ctx.id });
    assert.equal(stdoutOf(failed), "it's \\ \x01\n");
    assert.ok(failed.some((e) => e.type === 'stderr' && /no\/such\/path/.test(e.text)));
    assert.equal(errorOf(failed)?.name, 'ExitCode');
    assert.equal(errorOf(failed)?.value, '2');
    assert.equal(failed.at(-1)?.type, 'end_of_execution');
  });

  it('do not let a cell read the command channel or lose output when it redirects stdout', async () => {
    const ctx = await newContext('bash');
    const read = await interp.execute({ code: 'read line; echo "got [$line]"', context_id: ctx.id });
    assert.equal(stdoutOf(read), 'got []\n');
    const redirected = await interp.execute({ code: `exec >${path.join(interp.home, 'out.txt')}; echo gone`, context_id: ctx.id });
    assert.equal(redirected.at(-1)?.type, 'end_of_execution');
    assert.equal(stdoutOf(redirected), '');
  });
});

describe('environment variables', () => {
  it('apply env_vars to one execution only, over the sandbox-wide ones, which are re-read when they change', async () => {
    await writeFile(`${interp.envsFile}.tmp`, JSON.stringify({ GLOBAL_ONE: 'g1', SHARED: 'global' }));
    await rename(`${interp.envsFile}.tmp`, interp.envsFile);
    for (const language of ['javascript', 'bash']) {
      const show =
        language === 'bash'
          ? 'echo "${GLOBAL_ONE:-unset} ${SHARED:-unset} ${ONLY_HERE:-unset}"'
          : 'console.log(`${process.env.GLOBAL_ONE ?? "unset"} ${process.env.SHARED ?? "unset"} ${process.env.ONLY_HERE ?? "unset"}`)';
      const ctx = await newContext(language);
      const own = await interp.execute({ code: show, context_id: ctx.id, env_vars: { SHARED: 'mine', ONLY_HERE: 'yes' } });
      assert.equal(stdoutOf(own), 'g1 mine yes\n', language);
      const next = await interp.execute({ code: show, context_id: ctx.id });
      assert.equal(stdoutOf(next), 'g1 global unset\n', language);

      await writeFile(`${interp.envsFile}.tmp`, JSON.stringify({ SHARED: 'changed' }));
      await rename(`${interp.envsFile}.tmp`, interp.envsFile);
      const changed = await interp.execute({ code: show, context_id: ctx.id });
      assert.equal(stdoutOf(changed), 'unset changed unset\n', language);
      await writeFile(`${interp.envsFile}.tmp`, JSON.stringify({ GLOBAL_ONE: 'g1', SHARED: 'global' }));
      await rename(`${interp.envsFile}.tmp`, interp.envsFile);
    }
  });
});

describe('interrupts, kernel death and independence of contexts', () => {
  it('a client that goes away interrupts the code; the context stays usable', async () => {
    for (const [language, code, check] of [
      ['javascript', 'var before = 1; console.log("started"); while (true) {}', 'before'],
      ['bash', 'before=1; echo started; sleep 600; echo after', 'echo $before'],
    ] as const) {
      const ctx = await newContext(language);
      const aborter = new AbortController();
      const seen: OutputEvent[] = [];
      const streaming = interp.stream({ code, context_id: ctx.id }, (e) => {
        seen.push(e);
        // The output arrives while the code runs: abort as soon as it does.
        if (e.type === 'stdout') aborter.abort();
      }, aborter.signal);
      await assert.rejects(streaming, { name: 'AbortError' });
      assert.equal(stdoutOf(seen), 'started\n');
      const next = await interp.execute({ code: check, context_id: ctx.id });
      assert.equal(language === 'bash' ? stdoutOf(next) : mainText(next), language === 'bash' ? '1\n' : '1', language);
      assert.ok(!stdoutOf(next).includes('after'));
    }
  });

  it('code that ignores the interrupt gets its kernel replaced, with a notice to the next execution', async () => {
    const ctx = await newContext('javascript');
    const aborter = new AbortController();
    const streaming = interp.stream(
      { code: 'await new Promise((r) => setTimeout(r, 1)); console.log("spinning"); for (;;) {}', context_id: ctx.id },
      (e) => e.type === 'stdout' && aborter.abort(),
      aborter.signal,
    );
    await assert.rejects(streaming, { name: 'AbortError' });
    const next = await interp.execute({ code: '"fresh"', context_id: ctx.id });
    assert.equal(mainText(next), 'fresh');
    assert.ok(next.some((e) => e.type === 'stderr' && /did not stop when interrupted/.test(e.text)));
  });

  it('a busy context does not hold up another', async () => {
    const busy = await newContext('javascript');
    const aborter = new AbortController();
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const streaming = interp.stream({ code: 'console.log("busy"); while (true) {}', context_id: busy.id }, (e) => e.type === 'stdout' && started(), aborter.signal);
    await running;
    const other = await interp.execute({ code: '6 * 7', language: 'javascript' });
    assert.equal(mainText(other), '42');
    aborter.abort();
    await assert.rejects(streaming, { name: 'AbortError' });
  });

  it('a kernel that dies gives an error event, and the next execution a fresh kernel and a notice', async () => {
    for (const [language, code] of [
      ['javascript', 'var gone = 1; process.exit(3)'],
      ['bash', 'gone=1; exit 3'],
    ] as const) {
      const ctx = await newContext(language);
      const events = await interp.execute({ code, context_id: ctx.id });
      const err = errorOf(events);
      assert.equal(err?.name, 'DeadKernelError', language);
      assert.match(err!.value, /exited with code 3/);
      assert.equal(events.at(-1)?.type, 'unexpected_end_of_execution');
      const next = await interp.execute({ code: language === 'bash' ? 'echo "[${gone}]"' : 'typeof gone', context_id: ctx.id });
      assert.ok(next.some((e) => e.type === 'stderr' && /previous kernel of this context stopped/.test(e.text)), language);
      assert.equal(language === 'bash' ? stdoutOf(next) : mainText(next), language === 'bash' ? '[]\n' : 'undefined');
    }
  });

  it('a shell that exits while its background job still holds the output pipes is seen to die', async () => {
    const ctx = await newContext('bash');
    const flag = path.join(interp.home, 'release-background-job');
    // The job outlives the shell until the test, after the response, creates the flag.
    const events = await interp.execute({ code: `(while [ ! -e ${flag} ]; do sleep 0.05; done) & exit 4`, context_id: ctx.id });
    await writeFile(flag, '');
    assert.equal(errorOf(events)?.name, 'DeadKernelError');
    assert.match(errorOf(events)!.value, /exited with code 4/);
  });

  it('executions sent to one context at once run one at a time', async () => {
    const ctx = await newContext('javascript');
    await interp.execute({ code: 'var log = []', context_id: ctx.id });
    await Promise.all(
      [1, 2, 3].map((n) =>
        interp.execute({ code: `log.push("start ${n}"); await new Promise((r) => setTimeout(r, 20)); log.push("end ${n}")`, context_id: ctx.id }),
      ),
    );
    const log = JSON.parse(String(mainText(await interp.execute({ code: 'JSON.stringify(log)', context_id: ctx.id })))) as string[];
    assert.equal(log.length, 6);
    for (let i = 0; i < 6; i += 2) assert.equal(log[i + 1], log[i]!.replace('start', 'end'), log.join(', '));
  });
});
