// One sandbox (/dashboard/inspect/sandbox/{id}, the e2b CLI's link): its state and actions, live
// CPU, memory and disk charts, its lifecycle log and a terminal. One event stream brings the
// state, samples and log; once the sandbox is gone the page says so and the stream stops.
import { api, type LogEntry, type Sample, type SandboxRow } from './api.js';
import { LiveChart } from './charts.js';
import { FileBrowser } from './file-browser.js';
import { bytes, h, notify, time } from './dom.js';
import { SandboxTerminal } from './terminal.js';

const MiB = 1024 * 1024;

export function sandboxPage(root: HTMLElement, id: string): () => void {
  const title = h('h1', {}, `Sandbox ${id}`);
  const banner = h('div', { class: 'banner', 'data-testid': 'banner', hidden: '' });
  const facts = h('dl', { class: 'facts' });
  const actions = h('div', { class: 'actions' });
  const cpu = new LiveChart('CPU', '%', '#2b7de9', 'cpu');
  const mem = new LiveChart('Memory', 'MiB', '#16a34a', 'memory');
  const disk = new LiveChart('Disk', 'MiB', '#c2410c', 'disk');
  const log = h('ol', { class: 'log', 'data-testid': 'log' });
  const terminal = new SandboxTerminal(id);
  const files = new FileBrowser(id);
  root.append(
    h('p', {}, h('a', { href: '/dashboard' }, '← Sandboxes')),
    title, banner, facts, actions,
    h('div', { class: 'charts' }, cpu.el, mem.el, disk.el),
    h('h2', {}, 'Terminal'), terminal.el,
    h('h2', {}, 'Files'), files.el,
    h('h2', {}, 'Lifecycle log'), log,
  );

  let current: SandboxRow | undefined;
  const button = (label: string, action: string, run: () => Promise<unknown>, danger = false) => {
    const b = h('button', { 'data-action': action, ...(danger ? { class: 'danger' } : {}) }, label);
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await run();
      } catch (err) {
        notify((err as Error).message);
      } finally {
        b.disabled = false;
      }
    });
    return b;
  };
  const drawActions = (s: SandboxRow) => {
    const running = s.phase === 'running';
    actions.replaceChildren(
      running
        ? button('Pause', 'pause', () => api.pause(id))
        : button('Resume', 'resume', async () => { await api.resume(id); terminal.ensureOpen(); }),
      button('Clone', 'clone', async () => notify(`cloned: ${(await api.clone(id, 1)).sandboxes.map((c) => c.sandboxID).join(', ')}`, 'info')),
      button('Set timeout', 'timeout', async () => {
        const seconds = Number(prompt('Seconds from now until it ends:', '300'));
        if (Number.isInteger(seconds) && seconds > 0) await api.setTimeout(id, seconds);
      }),
      button('Kill', 'kill', async () => { if (confirm(`Kill sandbox ${id}? Its files are lost.`)) await api.kill(id); }, true),
    );
  };
  const drawFacts = (s: SandboxRow) => {
    const rows: Array<[string, string]> = [
      ['State', s.phase],
      ['Template', s.alias ?? s.templateID],
      ['Started', time(s.startedAt)],
      ['Ends', time(s.endAt)],
      ['Size', `${s.cpuCount} CPU, ${s.memoryMB} MiB memory, ${s.diskSizeMB} MiB disk`],
      ['Metadata', Object.entries(s.metadata).map(([k, v]) => `${k}=${v}`).join(', ') || '–'],
      ['Now', s.now ? `${s.now.cpuUsedPct.toFixed(1)} % CPU, ${bytes(s.now.memUsed)} memory` : '–'],
    ];
    facts.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-fact': k.toLowerCase() }, v)]));
  };

  const events = new EventSource(`/dashboard/live/sandboxes/${id}/stream`);
  events.addEventListener('sandbox', (e) => {
    const s = JSON.parse((e as MessageEvent).data) as SandboxRow;
    const phaseChanged = current?.phase !== s.phase;
    current = s;
    drawFacts(s);
    if (!phaseChanged) return;
    drawActions(s);
    // A paused sandbox's terminal says so (with a resume button); a running one gets a shell.
    if (s.phase === 'paused') terminal.open();
    else if (s.phase === 'running') terminal.ensureOpen();
    void files.show();
  });
  events.addEventListener('samples', (e) => {
    const samples = JSON.parse((e as MessageEvent).data) as Sample[];
    // How long after its sample the newest point arrived (the bench reads it).
    if (samples.length > 0) root.dataset.sampleLagMs = String(Date.now() - Date.parse(samples.at(-1)!.timestamp));
    cpu.add(samples.map((s) => [s.timestampUnix, s.cpuUsedPct]));
    mem.add(samples.map((s) => [s.timestampUnix, s.memUsed / MiB]));
    disk.add(samples.map((s) => [s.timestampUnix, s.diskUsed / MiB]));
  });
  events.addEventListener('log', (e) => {
    for (const entry of JSON.parse((e as MessageEvent).data) as LogEntry[]) {
      log.append(h('li', { class: entry.level }, h('time', {}, time(entry.timestamp)), ` ${entry.message}`));
    }
  });
  events.addEventListener('gone', (e) => {
    events.close();
    terminal.close();
    banner.textContent = (JSON.parse((e as MessageEvent).data) as { message: string }).message;
    banner.hidden = false;
    actions.replaceChildren();
    root.classList.add('gone');
  });
  events.addEventListener('error', () => {
    // A 404 at the start (no such sandbox) or the server going away: say so, do not retry forever.
    if (events.readyState === EventSource.CLOSED) {
      banner.textContent = `sandbox ${id} cannot be watched: it does not exist or the server is unreachable`;
      banner.hidden = false;
    }
  });

  return () => {
    events.close();
    terminal.dispose();
  };
}
