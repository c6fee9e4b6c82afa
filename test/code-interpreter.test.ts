// The code interpreter of code-interpreter-v1 sandboxes, driven by the unmodified
// @e2b/code-interpreter SDK through the server's header routing (E2b-Sandbox-Port: 49999).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { NotFoundError, Sandbox, SandboxError, TimeoutError, type Execution, type Result } from '@e2b/code-interpreter';
import { Sandbox as NovitaSandbox } from 'novita-sandbox';
import { disposeServer, startServerProcess, useServer, type ServerProcess } from './support/server-process.js';

let server: ServerProcess;
let sbx: Sandbox;

before(async () => {
  server = await startServerProcess();
  useServer(server);
  sbx = await Sandbox.create();
});

after(async () => {
  await sbx?.kill();
  await disposeServer(server);
});

const decode = (b64: string) => Buffer.from(b64, 'base64');
const only = (results: Result[], predicate: (r: Result) => unknown) => {
  const found = results.filter(predicate);
  assert.equal(found.length, 1, JSON.stringify(results.map((r) => r.formats())));
  return found[0]!;
};

/** A `/proc/<pid>/status` field, in KiB, of the sandbox's process whose command line names
 *  `program` (the largest, if several do). */
async function processMemoryKiB(program: string, field: 'RssAnon' | 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await sbx.commands.run(`for p in /proc/[0-9]*; do [ $p != /proc/$$ ] && grep -qs ${program} $p/cmdline && grep ${field}: $p/status; done; true`, { user: 'root' });
  const kib = Math.max(...[...status.stdout.matchAll(/:\s+(\d+) kB/g)].map((m) => Number(m[1])));
  assert.ok(kib > 0, `${field} of ${program} not found: ${status.stdout}`);
  return kib;
}

describe('the default contexts', () => {
  it('are listed right after create: Python and JavaScript in /home/user', async () => {
    const listed = await sbx.listCodeContexts();
    const defaults = listed.filter((c) => c.cwd === '/home/user').map((c) => c.language);
    assert.deepEqual(defaults.slice(0, 2), ['python', 'javascript'], JSON.stringify(listed));
    const js = listed.find((c) => c.language === 'javascript')!;
    await sbx.runCode('var setByLanguage = "here"', { language: 'javascript' });
    assert.equal((await sbx.runCode('setByLanguage', { context: js })).text, 'here', 'the listed context is the one code by language runs in');
  });
});

describe('Python in the default context', () => {
  it('keeps state, shows the last expression as the main result and counts executions', async () => {
    const first = await sbx.runCode('x = 41');
    assert.deepEqual(first.results, []);
    const second = await sbx.runCode('x + 1');
    assert.equal(second.text, '42');
    assert.equal(second.results[0]!.isMainResult, true);
    assert.equal(second.executionCount, first.executionCount! + 1);
    assert.equal((await sbx.runCode('"a string"')).text, 'a string');
  });

  it('streams stdout and stderr while the code runs', async () => {
    // The code waits for a file that the test writes only once it has seen the first line: output
    // held back until the end would leave it waiting for ever.
    const flag = `/tmp/go-${randomUUID()}`;
    const seen: string[] = [];
    const execution = await sbx.runCode(
      `import os, sys, time\nprint("first", flush=True)\nwhile not os.path.exists(${JSON.stringify(flag)}): time.sleep(0.01)\nprint("err", file=sys.stderr, flush=True)\nprint("second")`,
      {
        onStdout: async (m) => {
          seen.push(`out:${m.line}`);
          if (m.line === 'first\n') await sbx.files.write(flag, '');
        },
        onStderr: (m) => {
          seen.push(`err:${m.line}`);
        },
      },
    );
    assert.deepEqual(seen, ['out:first\n', 'err:err\n', 'out:second\n']);
    assert.deepEqual(execution.logs, { stdout: ['first\n', 'second\n'], stderr: ['err\n'] });
  });

  it('sends a large output in events of at most 64 Ki characters, nothing lost', async () => {
    // Gathered by the kernel into one event, 8 MiB of output took the SDK 3.8 s to read (its line
    // reader searches its whole buffer for each network chunk).
    const sizes: number[] = [];
    const execution = await sbx.runCode('import sys\nfor i in range(4):\n    sys.stdout.write("x" * (1 << 20))', {
      onStdout: (m) => {
        sizes.push(m.line.length);
      },
    });
    assert.equal(execution.error, undefined, JSON.stringify(execution.error));
    assert.equal(sizes.reduce((a, b) => a + b, 0), 4 << 20);
    assert.ok(sizes.length >= 64 && Math.max(...sizes) <= 64 * 1024, `event sizes: ${sizes.slice(0, 8).join(', ')}, … (${sizes.length})`);
  });

  it('leaves no output of a cell in memory for a pause to save (the interpreter and the bridge give it back)', async () => {
    const programs = ['interpreter.mjs', 'bridge.py'];
    const before = await Promise.all(programs.map((program) => processMemoryKiB(program, 'RssAnon')));
    await sbx.runCode('import sys\nfor i in range(16):\n    sys.stdout.write("x" * (1 << 20))', { onStdout: () => {} });
    // The next execution's start runs a release still waiting.
    await sbx.runCode('1');
    for (const [i, program] of programs.entries()) {
      const grown = (await processMemoryKiB(program, 'RssAnon')) - before[i]!;
      assert.ok(grown < 8 * 1024, `${program} grew by ${grown} KiB of anonymous memory with the output`);
    }
  });

  it('never holds a large output whole: the kernel sends it on in parts', async () => {
    // Gathered for 0.2 s by ipykernel, 64 MiB of output was one message: the interpreter peaked
    // ~260 MiB above its size and the kernel ~180 MiB.
    const programs = ['interpreter.mjs', 'kernel_launch.py'];
    const before = await Promise.all(programs.map((program) => processMemoryKiB(program, 'VmRSS')));
    await sbx.commands.run(`for p in /proc/[0-9]*; do grep -qsE '${programs.join('|')}' $p/cmdline && echo 5 > $p/clear_refs; done; true`, { user: 'root' });
    let received = 0;
    await sbx.runCode('import sys\nfor i in range(64):\n    sys.stdout.write("x" * (1 << 20))', { onStdout: (m) => void (received += m.line.length) });
    assert.equal(received, 64 << 20);
    for (const [i, program] of programs.entries()) {
      const peak = (await processMemoryKiB(program, 'VmHWM')) - before[i]!;
      assert.ok(peak < 48 * 1024, `${program} peaked ${peak} KiB above its size while 64 MiB of output passed`);
    }
  });

  it('keeps the order of stderr written before a large stdout output', async () => {
    const seen: string[] = [];
    await sbx.runCode('import sys\nsys.stderr.write("first\\n")\nsys.stdout.write("x" * (2 << 20))', {
      onStdout: () => void (seen.at(-1) !== 'stdout' && seen.push('stdout')),
      onStderr: (m) => void seen.push(`stderr ${m.line.trim()}`),
    });
    assert.deepEqual(seen, ['stderr first', 'stdout']);
  });

  it("keeps characters whole in what a cell's subprocesses print, and their output after it", async () => {
    // ipykernel read them from the kernel's descriptor 1 in blocks of 1000 bytes, decoding each on
    // its own: a character cut by a block ended its reader, all such output after it was lost, and
    // once 64 KiB of it filled the pipe the cell hung. The sleep gives that reader (a thread of the
    // kernel) time to pass the output on.
    const text = '中'.repeat(400);
    const first = await sbx.runCode(`import subprocess, time\nsubprocess.run(["printf", "%s\\n", ${JSON.stringify(text)}])\ntime.sleep(0.5)`);
    assert.equal(first.logs.stdout.join(''), `${text}\n`);
    const second = await sbx.runCode('import subprocess, time\nsubprocess.run("head -c 100000 /dev/zero | tr \'\\\\0\' x", shell=True)\ntime.sleep(0.5)', { timeoutMs: 30_000 });
    assert.equal(second.logs.stdout.join(''), 'x'.repeat(100_000));
  });

  it('returns every representation the kernel gives, display() calls in order before the value', async () => {
    const execution = await sbx.runCode(
      [
        'import io',
        'from IPython.display import display, HTML, Markdown, SVG, Latex, JSON, Javascript, Image',
        'from PIL import Image as Pil',
        'buf = io.BytesIO(); Pil.new("RGB", (4, 4), "red").save(buf, "jpeg")',
        'display(HTML("<b>bold</b>"))',
        'display(Markdown("# title"))',
        'display(SVG("<svg xmlns=\'http://www.w3.org/2000/svg\'><circle r=\'1\'/></svg>"))',
        'display(Latex("$e^x$"))',
        'display(JSON({"k": [1, 2]}))',
        'display(Javascript("console.log(1)"))',
        'display(Image(buf.getvalue(), format="jpeg"))',
        'display({"application/pdf": "JVBERi0xLjQ="}, raw=True)',
        '"the value"',
      ].join('\n'),
    );
    assert.equal(execution.error, undefined);
    const formats = execution.results.map((r) => r.formats().filter((f) => f !== 'text')[0] ?? 'text');
    assert.deepEqual(formats, ['html', 'markdown', 'svg', 'latex', 'json', 'javascript', 'jpeg', 'pdf', 'text']);
    assert.deepEqual(execution.results.map((r) => r.isMainResult), [false, false, false, false, false, false, false, false, true]);
    const [html, markdown, svg, latex, json, javascript, jpeg, pdf, value] = execution.results;
    assert.equal(html!.html, '<b>bold</b>');
    assert.equal(markdown!.markdown, '# title');
    assert.match(svg!.svg!, /<circle r="1"\/?>/);
    assert.equal(latex!.latex, '$e^x$');
    assert.deepEqual(json!.json, { k: [1, 2] });
    assert.equal(javascript!.javascript, 'console.log(1)');
    assert.deepEqual([...decode(jpeg!.jpeg!).subarray(0, 2)], [0xff, 0xd8]);
    assert.equal(pdf!.pdf, 'JVBERi0xLjQ=');
    assert.equal(value!.text, 'the value');
    assert.equal(execution.text, 'the value');
  });

  it('gives a pandas DataFrame as text, HTML and data (NaN as null)', async () => {
    const execution = await sbx.runCode('import pandas as pd\npd.DataFrame({"a": [1, 2], "b": [0.5, float("nan")]})');
    const r = only(execution.results, (r) => r.isMainResult);
    assert.match(r.text!, /a\s+b/);
    assert.match(r.html!, /<table/);
    assert.deepEqual(r.data, { a: [1, 2], b: [0.5, null] });
  });

  it('gives matplotlib figures as PNG with their chart data', async () => {
    const line = await sbx.runCode(
      'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [2, 4, 8], label="growth")\nplt.title("Line")\nplt.xlabel("Time (s)")\nplt.show()',
    );
    const fig = only(line.results, (r) => r.png);
    assert.equal(fig.isMainResult, false);
    assert.deepEqual([...decode(fig.png!).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const chart = fig.chart as unknown as Record<string, unknown>;
    assert.equal(chart.type, 'line');
    assert.equal(chart.title, 'Line');
    assert.equal(chart.x_label, 'Time (s)');
    assert.equal(chart.x_unit, 's');
    assert.deepEqual(chart.elements, [{ label: 'growth', points: [[1, 2], [2, 4], [3, 8]] }]);

    const bar = await sbx.runCode('plt.bar(["x", "y"], [3, 4])\nplt.show()');
    const barChart = only(bar.results, (r) => r.png).chart as unknown as Record<string, unknown>;
    assert.equal(barChart.type, 'bar');
    assert.deepEqual(
      (barChart.elements as Array<Record<string, unknown>>).map((e) => [e.label, e.value]),
      [['x', 3], ['y', 4]],
    );

    const pie = await sbx.runCode('plt.pie([1, 3], labels=["p", "q"])\nplt.show()');
    const pieChart = only(pie.results, (r) => r.png).chart as unknown as Record<string, unknown>;
    assert.equal(pieChart.type, 'pie');
    assert.deepEqual((pieChart.elements as Array<Record<string, unknown>>).map((e) => [e.label, e.angle]), [['p', 90], ['q', 270]]);

    const dated = await sbx.runCode(
      'import datetime\nplt.plot([datetime.date(2024, 3, d) for d in (1, 2, 3)], [5, 7, 6])\nplt.gcf().autofmt_xdate()\nplt.show()',
    );
    const dateChart = only(dated.results, (r) => r.png).chart as unknown as Record<string, unknown>;
    assert.equal(dateChart.x_scale, 'datetime');
    assert.equal(dateChart.y_scale, 'linear');
    assert.deepEqual((dateChart.elements as Array<{ points: unknown }>)[0]!.points, [['2024-03-01', 5], ['2024-03-02', 7], ['2024-03-03', 6]]);
    const dateTicks = dateChart.x_ticks as string[];
    assert.ok(dateTicks.length > 1 && dateTicks.every((t) => /^2024-0[23]-\d\dT/.test(t)), JSON.stringify(dateTicks));
    assert.ok((dateChart.x_tick_labels as string[]).some((l) => /03-0\d/.test(l)), JSON.stringify(dateChart.x_tick_labels));

    const named = await sbx.runCode('plt.scatter(["low", "mid", "high"], [1, 5, 9])\nplt.show()');
    const namedChart = only(named.results, (r) => r.png).chart as unknown as Record<string, unknown>;
    assert.equal(namedChart.type, 'scatter');
    assert.equal(namedChart.x_scale, 'categorical');
    assert.deepEqual(namedChart.x_tick_labels, ['low', 'mid', 'high']);
    assert.deepEqual((namedChart.elements as Array<{ points: unknown }>)[0]!.points, [['low', 1], ['mid', 5], ['high', 9]]);

    const two = await sbx.runCode('fig, (a, b) = plt.subplots(1, 2)\na.scatter([1], [2])\nb.plot([0, 1])\nfig.suptitle("Both")\nplt.show()');
    const superChart = only(two.results, (r) => r.png).chart as unknown as Record<string, unknown>;
    assert.equal(superChart.type, 'superchart');
    assert.equal(superChart.title, 'Both');
    assert.deepEqual((superChart.elements as Array<Record<string, unknown>>).map((e) => e.type), ['scatter', 'line']);
  });

  it('shows a PIL image saved to a file as a PNG result, as the hosted interpreter does', async () => {
    const saved = await sbx.runCode(
      'from PIL import Image\nimg = Image.new("RGB", (6, 4), "green")\nimg.save("/tmp/green.png")\nimg.save("/tmp/green.jpg", "jpeg")\nimport io; img.save(io.BytesIO(), "png")\n"saved"',
    );
    assert.equal(saved.error, undefined);
    const shown = saved.results.filter((r) => !r.isMainResult);
    assert.equal(shown.length, 2, 'one per file, none for the in-memory save');
    for (const r of shown) assert.deepEqual([...decode(r.png!).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    assert.equal(saved.text, 'saved');
    assert.equal((await sbx.files.read('/tmp/green.png', { format: 'bytes' })).length > 0, true);
  });

  it('turns exceptions and syntax errors into an error with name, value and traceback, and goes on', async () => {
    const raised = await sbx.runCode('def f():\n    raise ValueError("bad value")\nf()');
    assert.equal(raised.error?.name, 'ValueError');
    assert.equal(raised.error?.value, 'bad value');
    // IPython colours its tracebacks (as Jupyter shows them); the text underneath names the frames.
    const plain = raised.error!.traceback.replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(plain, /----> 3 f\(\)/);
    assert.match(plain, /----> 2     raise ValueError\("bad value"\)/);
    assert.deepEqual(raised.results, []);

    const syntax = await sbx.runCode('x = (1,');
    assert.equal(syntax.error?.name, 'SyntaxError');
    assert.match(syntax.error!.traceback, /SyntaxError/);

    assert.equal((await sbx.runCode('1 + 1')).text, '2');
  });

  it('applies per-execution envs to that execution only', async () => {
    const code = 'import os; os.environ.get("ONLY_NOW", "unset")';
    assert.equal((await sbx.runCode(code, { envs: { ONLY_NOW: 'now' } })).text, 'now');
    assert.equal((await sbx.runCode(code)).text, 'unset');
    const subprocess = await sbx.runCode('import subprocess; subprocess.run(["sh", "-c", "echo $ONLY_NOW"], capture_output=True, text=True).stdout', {
      envs: { ONLY_NOW: 'child too' },
    });
    assert.equal(subprocess.text, 'child too\\n');
  });
});

describe('interrupts, contexts that do not block each other, kernel death', () => {
  it('an execution timeout interrupts the code and the context keeps its state', async () => {
    await sbx.runCode('kept = "still here"');
    await assert.rejects(sbx.runCode('import time\nwhile True: time.sleep(0.01)', { timeoutMs: 1000 }), TimeoutError);
    const next = await sbx.runCode('kept');
    assert.equal(next.text, 'still here');
  });

  it('a context stuck in a loop does not hold up another one', async () => {
    const busy = await sbx.createCodeContext();
    const flag = `/tmp/release-${randomUUID()}`;
    try {
      let started!: () => void;
      const running = new Promise<void>((r) => (started = r));
      const stuck = sbx.runCode(`import os, time\nprint("in", flush=True)\nwhile not os.path.exists(${JSON.stringify(flag)}): time.sleep(0.01)\n"released"`, {
        context: busy,
        onStdout: () => started(),
      });
      await running;
      assert.equal((await sbx.runCode('6 * 7')).text, '42');
      await sbx.files.write(flag, '');
      assert.equal((await stuck).text, 'released');
    } finally {
      await sbx.removeCodeContext(busy);
    }
  });

  it('a kernel that dies gives an error; the next execution gets a fresh kernel and says so', async () => {
    const ctx = await sbx.createCodeContext();
    try {
      await sbx.runCode('doomed = 1', { context: ctx });
      const died = await sbx.runCode('import os; os._exit(1)', { context: ctx });
      assert.equal(died.error?.name, 'DeadKernelError');
      assert.match(died.error!.value, /exited with code 1/);
      const next = await sbx.runCode('"doomed" in globals()', { context: ctx });
      assert.equal(next.text, 'False');
      assert.match(next.logs.stderr.join(''), /previous kernel of this context stopped/);
    } finally {
      await sbx.removeCodeContext(ctx);
    }
  });
});

describe('contexts', () => {
  it('are created with a cwd and language, listed, restarted and removed', async () => {
    const py = await sbx.createCodeContext({ cwd: '/tmp' });
    const js = await sbx.createCodeContext({ language: 'javascript' });
    try {
      assert.deepEqual({ language: py.language, cwd: py.cwd }, { language: 'python', cwd: '/tmp' });
      assert.equal((await sbx.runCode('import os; os.getcwd()', { context: py })).text, '/tmp');
      const ids = (await sbx.listCodeContexts()).map((c) => c.id);
      assert.ok(ids.includes(py.id) && ids.includes(js.id));

      await sbx.runCode('mine = 1', { context: py });
      assert.equal((await sbx.runCode('"mine" in globals()')).text, 'False', 'the default context does not see it');
      await sbx.restartCodeContext(py);
      assert.equal((await sbx.runCode('"mine" in globals()', { context: py })).text, 'False', 'restart clears the state');

      await sbx.runCode('const q = [1, 2]', { context: js });
      assert.equal((await sbx.runCode('q.map((x) => x * 2)', { context: js })).text, '[ 2, 4 ]');
    } finally {
      await sbx.removeCodeContext(py);
      await sbx.removeCodeContext(js);
    }
    assert.ok(!(await sbx.listCodeContexts()).some((c) => c.id === py.id));
    await assert.rejects(sbx.runCode('1', { context: py }), (e: unknown) => e instanceof NotFoundError && /not found/.test(e.message));
  });

  it('run JavaScript, TypeScript and Bash by language, as the sandbox user', async () => {
    assert.equal((await sbx.runCode('const n: number = 6; n * 7', { language: 'typescript' })).text, '42');
    assert.equal((await sbx.runCode('[1, 2].length', { language: 'js' })).text, '2');
    const bash = await sbx.runCode('whoami; echo "$HOME"', { language: 'bash' });
    assert.deepEqual(bash.logs.stdout.join(''), 'user\n/home/user\n');
    assert.equal((await sbx.runCode('import getpass; getpass.getuser()')).text, 'user');
  });

  it('keeps characters whole in the output of a JavaScript cell\'s child process', async () => {
    // The child writes to the kernel's own stdout: two reads of that pipe, or two network chunks
    // that the SDK decodes one by one, may split a character.
    const execution = await sbx.runCode(
      "require('child_process').spawnSync('sh', ['-c', 'yes é | head -n 70000'], { stdio: 'inherit' }); 'done'",
      { language: 'javascript' },
    );
    assert.equal(execution.error, undefined, JSON.stringify(execution.error));
    const out = execution.logs.stdout.join('');
    assert.ok(!out.includes('\ufffd'), 'a character was split between two events');
    assert.equal(out.match(/é\n/g)?.length, 70_000);
  });

  it('import Node built-ins by bare and node: names in JavaScript', async () => {
    const execution = await sbx.runCode(
      "import fs from 'fs'\nimport { readFileSync } from 'node:fs'\nimport * as path from 'path'\nfs.writeFileSync('/tmp/esm.txt', 'esm')\nreadFileSync(path.join('/tmp', 'esm.txt'), 'utf8')",
      { language: 'javascript' },
    );
    assert.equal(execution.error, undefined, JSON.stringify(execution.error));
    assert.equal(execution.text, 'esm');
  });

  it('run R in IRkernel, with state, output, errors, envs and plots', async () => {
    const ctx = await sbx.createCodeContext({ language: 'r' });
    try {
      assert.equal(ctx.language, 'r');
      await sbx.runCode('x <- c(1, 2, 3)', { context: ctx });
      const r = await sbx.runCode('cat("mean:", mean(x), "\\n")\nsum(x)', { context: ctx });
      assert.equal(r.error, undefined);
      assert.deepEqual(r.logs.stdout, ['mean: 2 \n']);
      assert.equal(r.results[0]?.text, '[1] 6');
      const failed = await sbx.runCode('stop("bad input")', { context: ctx });
      assert.equal(failed.error?.name, 'ERROR');
      assert.match(failed.error!.value, /bad input/);
      const env = await sbx.runCode('Sys.getenv("ONLY_NOW", "unset")', { context: ctx, envs: { ONLY_NOW: 'r too' } });
      assert.equal(env.results[0]?.text, '[1] "r too"');
      assert.equal((await sbx.runCode('Sys.getenv("ONLY_NOW", "unset")', { context: ctx })).results[0]?.text, '[1] "unset"');
      const plot = await sbx.runCode('plot(1:3)', { context: ctx });
      assert.ok(plot.results.some((p) => p.png && decode(p.png).subarray(1, 4).toString() === 'PNG'), JSON.stringify(plot.results.map((p) => p.formats())));
    } finally {
      await sbx.removeCodeContext(ctx);
    }
    assert.equal((await sbx.runCode('paste("by", "language")', { language: 'r' })).results[0]?.text, '[1] "by language"');
  });

  it('answer Java code with an execution error naming the missing kernel', async () => {
    const java = await sbx.runCode('System.out.println(1);', { language: 'java' });
    assert.equal(java.error?.name, 'KernelNotInstalled');
    assert.match(java.error!.value, /java language needs a Java kernel \(a JDK with IJava\).*; it runs python, javascript, typescript, bash, r$/);
    await assert.rejects(sbx.createCodeContext({ language: 'java' }), (e: unknown) => e instanceof SandboxError && /400/.test(e.message));
  });

  it('refuse an unsupported language', async () => {
    await assert.rejects(sbx.runCode('1', { language: 'cobol' }), (e: unknown) => e instanceof SandboxError && /400/.test(e.message));
    await assert.rejects(sbx.createCodeContext({ language: 'cobol' }), (e: unknown) => e instanceof SandboxError && /400/.test(e.message));
  });
});

describe('sandbox-wide variables', () => {
  it('Sandbox.create({ envs }) and the default variables reach the code, per-execution envs override them', async () => {
    const own = await Sandbox.create({ envs: { GLOBAL_VAR: 'from create', OVERRIDDEN: 'global' } });
    try {
      const code = 'import os; " ".join(os.environ.get(k, "unset") for k in ["GLOBAL_VAR", "OVERRIDDEN", "E2B_SANDBOX", "E2B_SANDBOX_ID"])';
      assert.equal((await own.runCode(code)).text, `from create global true ${own.sandboxId}`);
      assert.equal((await own.runCode(code, { envs: { OVERRIDDEN: 'mine' } })).text, `from create mine true ${own.sandboxId}`);
      assert.equal((await own.runCode(code)).text, `from create global true ${own.sandboxId}`);
      assert.equal((await own.runCode('echo "$GLOBAL_VAR"', { language: 'bash' })).logs.stdout.join(''), 'from create\n');
    } finally {
      await own.kill();
    }
  });
});

describe('checkpoints', () => {
  it('kernel state survives pause and resume, and a clone (with a new address) has it too', async () => {
    const own = await Sandbox.create();
    const clones: string[] = [];
    try {
      await own.runCode('import numpy as np\nsaved = np.arange(5)');
      assert.equal(await Sandbox.betaPause(own.sandboxId), true);
      const resumed = await Sandbox.connect(own.sandboxId);
      const afterResume: Execution = await resumed.runCode('int(saved.sum())');
      assert.equal(afterResume.text, '10');

      const made = await NovitaSandbox.clone(own.sandboxId);
      for (const c of made.sandboxes) clones.push(c.sandboxId);
      assert.equal(made.count, 1);
      const clone = await Sandbox.connect(made.sandboxes[0]!.sandboxId);
      assert.equal((await clone.runCode('saved.tolist()')).text, '[0, 1, 2, 3, 4]');
      assert.equal((await clone.runCode('saved = None; 1')).text, '1');
      assert.equal((await resumed.runCode('int(saved.sum())')).text, '10', 'the source keeps its own state');
    } finally {
      await own.kill();
      await Promise.all(clones.map((id) => Sandbox.kill(id)));
    }
  });
});
