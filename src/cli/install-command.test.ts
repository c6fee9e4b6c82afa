import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { installDir } from '../config.js';
import { installUnit, type InstallOptions, shellCommand, systemdRunning, uninstallUnit, unitText, unitWord, type UnitSettings } from './install-command.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-install-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const settings: UnitSettings = {
  node: process.execPath,
  nodeArgs: ['--import', 'tsx'],
  script: path.join(installDir, 'src/cli/main.ts'),
  workingDirectory: installDir,
  dataDir: '/var/lib/sandcastle',
  environment: { SANDCASTLE_WARM_POOL: '1', SANDCASTLE_DOMAIN: 'sandboxes.example.com' },
};

function hasSystemdAnalyze(): boolean {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('unitText', () => {
  it('starts this install at boot, restarts it on failure, signals only the server, logs to the journal', () => {
    const lines = unitText(settings).split('\n');
    assert.ok(lines.includes(`ExecStart=${process.execPath} --import tsx ${settings.script} serve --data-dir /var/lib/sandcastle`), lines.join('\n'));
    for (const line of [
      'After=network-online.target',
      'Wants=network-online.target',
      'Restart=on-failure',
      'KillMode=process',
      'StandardOutput=journal',
      'StandardError=journal',
      `WorkingDirectory=${installDir}`,
      'Environment="SANDCASTLE_DOMAIN=sandboxes.example.com"',
      'Environment="SANDCASTLE_WARM_POOL=1"',
      'WantedBy=multi-user.target',
    ]) {
      assert.ok(lines.includes(line), `missing ${line}`);
    }
  });

  it('passes host and port to serve', () => {
    assert.match(unitText({ ...settings, host: '0.0.0.0', port: 3000 }), /^ExecStart=.* serve --data-dir \/var\/lib\/sandcastle --host 0\.0\.0\.0 --port 3000$/m);
  });

  it("quotes words with spaces and keeps systemd's % and $ literal", () => {
    assert.equal(unitWord('/opt/sand castle/main.js'), '"/opt/sand castle/main.js"');
    assert.equal(unitWord('/data/100%'), '/data/100%%');
    assert.equal(unitWord('/data/$HOME'), '/data/$$HOME');
    assert.equal(unitWord('say "hi"'), '"say \\"hi\\""');
    assert.match(unitText({ ...settings, environment: { SANDCASTLE_DOMAIN: 'a%b "c"' } }), /^Environment="SANDCASTLE_DOMAIN=a%%b \\"c\\""$/m);
    assert.equal(shellCommand({ ...settings, nodeArgs: [], dataDir: "/d/it's", environment: {} }), `${process.execPath} ${settings.script} serve --data-dir '/d/it'\\''s'`);
  });

  it('is a unit systemd accepts', { skip: hasSystemdAnalyze() ? false : 'systemd-analyze is not installed' }, async () => {
    const dir = path.join(tmp, 'verify');
    const file = await installUnit({ ...settings, dataDir: '/srv/data dir' }, { unitDir: dir, name: 'sandcastle', systemctl: undefined, say: () => {} });
    // Checks the syntax and that ExecStart's program exists; needs no running systemd.
    await promisify(execFile)('systemd-analyze', ['verify', file]);
  });
});

describe('installUnit / uninstallUnit', () => {
  it('reloads, enables and restarts the service with systemctl, and undoes it', async () => {
    const calls: string[] = [];
    const said: string[] = [];
    const opts: InstallOptions = { unitDir: path.join(tmp, 'managed'), name: 'sc-test', systemctl: async (args) => calls.push(args.join(' ')), say: (l) => said.push(l) };
    const file = await installUnit(settings, opts);
    assert.equal(readFileSync(file, 'utf8'), unitText(settings));
    assert.deepEqual(calls, ['daemon-reload', 'enable sc-test.service', 'restart sc-test.service']);
    assert.match(said.join('\n'), /journalctl -u sc-test/);
    calls.length = 0;
    await uninstallUnit(opts);
    assert.deepEqual(calls, ['disable --now sc-test.service', 'daemon-reload']);
    assert.equal(existsSync(file), false);
    await assert.rejects(uninstallUnit(opts), /no unit .*sc-test\.service to remove/);
  });
});

describe('sandcastle install', () => {
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(installDir, 'src/cli/main.ts'), ...args], { cwd: installDir, env: { ...process.env, ...env } });

  it('writes the unit into --unit-dir with the settings of its environment, says how to start it, and removes it', async () => {
    const unitDir = path.join(tmp, 'cli-units');
    const dataDir = path.join(tmp, 'cli-data');
    const { stdout } = await cli(['install', '--unit-dir', unitDir, '--data-dir', dataDir, '--port', '3999'], { SANDCASTLE_WARM_POOL: '3', SANDCASTLE_LOG_FILE: '/var/log/sc.log', SANDCASTLE_DATA_DIR: '/elsewhere' });
    const unit = readFileSync(path.join(unitDir, 'sandcastle.service'), 'utf8');
    assert.match(unit, new RegExp(`^ExecStart=${process.execPath} --import tsx ${path.join(installDir, 'src/cli/main.ts')} serve --data-dir ${dataDir} --port 3999$`, 'm'));
    assert.match(unit, /^Environment="SANDCASTLE_WARM_POOL=3"$/m);
    assert.doesNotMatch(unit, /SANDCASTLE_LOG_FILE|SANDCASTLE_DATA_DIR|\/elsewhere/, 'the journal gets the logs; the data folder is the flag');
    // systemctl is only run for units in /etc/systemd/system on a machine systemd manages.
    assert.match(stdout, systemdRunning() ? /systemd reads units from \/etc\/systemd\/system/ : /systemd is not running on this machine .* start the server with: /s);
    const removed = await cli(['install', '--uninstall', '--unit-dir', unitDir]);
    assert.match(removed.stdout, /removed .*sandcastle\.service/);
    assert.equal(existsSync(path.join(unitDir, 'sandcastle.service')), false);
    await assert.rejects(cli(['install', '--uninstall', '--unit-dir', unitDir]), (err: { code: number; stderr: string }) => err.code === 1 && /no unit .* to remove/.test(err.stderr));
  });
});
