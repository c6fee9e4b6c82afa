// The console's other pages: templates (with their builds and a build's log, followed live while it
// runs), snapshots, volumes and API keys. Each is a table from one API call, with its actions.
import { call } from './api.js';
import { esc, h, notify, time } from './dom.js';

/** Draws `rows` as a table whose buttons carry `data-action` and the row's `data-id`. */
function table(headers: string[], rows: string[]): HTMLTableElement {
  const t = h('table', { class: 'resources' });
  t.innerHTML = `<thead><tr>${headers.map((x) => `<th>${esc(x)}</th>`).join('')}</tr></thead><tbody>${
    rows.join('') || `<tr><td colspan="${headers.length}" class="empty">none</td></tr>`
  }</tbody>`;
  return t;
}

/** Runs a row's action on click, then redraws the page. */
function onAction(root: HTMLElement, redraw: () => Promise<void>, actions: Record<string, (id: string) => Promise<unknown>>): void {
  root.addEventListener('click', async (e) => {
    const button = (e.target as HTMLElement).closest('button[data-action]') as HTMLButtonElement | null;
    const id = button?.closest('[data-id]')?.getAttribute('data-id');
    const run = button && actions[button.dataset.action!];
    if (!button || !id || !run) return;
    button.disabled = true;
    try {
      await run(id);
      await redraw();
    } catch (err) {
      notify((err as Error).message);
    } finally {
      button.disabled = false;
    }
  });
}

interface Template {
  templateID: string;
  names: string[];
  buildStatus: string;
  cpuCount: number;
  memoryMB: number;
  diskSizeMB: number;
  buildCount: number;
  createdAt: string;
  updatedAt: string;
  public: boolean;
}

export async function templatesPage(root: HTMLElement): Promise<void> {
  const holder = h('div');
  root.append(h('h1', {}, 'Templates'), h('p', {}, 'Built with `sandcastle template create` or the SDKs\' Template.build.'), holder);
  const draw = async () => {
    const list = await call<Template[]>('GET', '/dashboard/api/templates');
    holder.replaceChildren(table(['Template', 'Id', 'Build', 'Size', 'Builds', 'Updated', ''], list.map((t) => {
      const id = esc(t.templateID);
      return `<tr data-id="${id}"><td><a href="/dashboard/templates/${id}">${esc(t.names.join(', ') || t.templateID)}</a></td><td>${id}</td>
<td><span class="state ${esc(t.buildStatus)}">${esc(t.buildStatus)}</span></td><td>${t.cpuCount} CPU, ${t.memoryMB} MiB, ${t.diskSizeMB} MiB disk</td>
<td class="num">${t.buildCount}</td><td>${esc(time(t.updatedAt))}</td><td><button data-action="delete" class="danger">Delete</button></td></tr>`;
    })));
  };
  onAction(holder, draw, {
    delete: async (id) => {
      if (confirm(`Delete template ${id}?`)) await call('DELETE', `/dashboard/api/templates/${id}`);
    },
  });
  await draw();
}

interface Build {
  buildID: string;
  status: string;
  createdAt: string;
  finishedAt: string | null;
}

interface BuildStatus {
  status: string;
  logEntries: Array<{ timestamp: string; level: string; message: string }>;
  reason?: { message: string };
}

/** A template's builds; a build's log is followed every second until the build ends. `?build=`
 *  names the build to follow, which also works during a template's first build (the template
 *  exists only once a build is ready). */
export async function templatePage(root: HTMLElement, id: string): Promise<() => void> {
  const asked = new URLSearchParams(location.search).get('build');
  let exists = true;
  const t = await call<Template & { builds: Build[] }>('GET', `/dashboard/api/templates/${id}`).catch((err: Error) => {
    if (!asked) throw err;
    exists = false;
    return { templateID: id, names: [], builds: [] as Build[] };
  });
  const log = h('ol', { class: 'log', 'data-testid': 'build-log' });
  const logTitle = h('h2', {}, 'Build log');
  root.append(
    h('p', {}, h('a', { href: '/dashboard/templates' }, '← Templates')),
    h('h1', {}, `Template ${t.names.join(', ') || t.templateID}`),
    table(['Build', 'Status', 'Started', 'Finished', ''], t.builds.map((b) => `<tr data-id="${esc(b.buildID)}"><td>${esc(b.buildID)}</td>
<td><span class="state ${esc(b.status)}">${esc(b.status)}</span></td><td>${esc(time(b.createdAt))}</td><td>${b.finishedAt ? esc(time(b.finishedAt)) : '–'}</td>
<td><button data-action="log">Log</button></td></tr>`)),
    logTitle, log,
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const follow = async (buildId: string) => {
    clearTimeout(timer);
    log.replaceChildren();
    let offset = 0;
    const step = async () => {
      const s = await call<BuildStatus>('GET', `/dashboard/api/templates/${t.templateID}/builds/${buildId}/status?logsOffset=${offset}`);
      offset += s.logEntries.length;
      for (const e of s.logEntries) log.append(h('li', { class: e.level }, h('time', {}, time(e.timestamp)), ` ${e.message}`));
      logTitle.textContent = `Build log: ${buildId} (${s.status})${s.reason ? ` — ${s.reason.message}` : ''}`;
      if (s.status === 'waiting' || s.status === 'building' || s.logEntries.length === 100) timer = setTimeout(() => void step().catch((err: Error) => notify(err.message)), 1000);
      // A first build that is ready made the template: draw its page with it.
      else if (!exists && s.status === 'ready') location.reload();
    };
    await step();
  };
  onAction(root, async () => undefined, { log: follow });
  const first = asked ?? t.builds[0]?.buildID;
  if (first) await follow(first);
  return () => clearTimeout(timer);
}

export async function snapshotsPage(root: HTMLElement): Promise<void> {
  const holder = h('div');
  root.append(h('h1', {}, 'Snapshots'), holder);
  const draw = async () => {
    const list = await call<Array<{ snapshotID: string; names: string[] }>>('GET', '/dashboard/api/snapshots');
    holder.replaceChildren(table(['Snapshot', 'Names', ''], list.map((s) => `<tr data-id="${esc(s.snapshotID)}"><td>${esc(s.snapshotID)}</td>
<td>${esc(s.names.join(', '))}</td><td><button data-action="start">Start a sandbox</button><button data-action="delete" class="danger">Delete</button></td></tr>`)));
  };
  onAction(holder, draw, {
    start: async (id) => {
      const s = await call<{ sandboxID: string }>('POST', '/dashboard/api/sandboxes', { templateID: id });
      location.assign(`/dashboard/inspect/sandbox/${s.sandboxID}`);
    },
    delete: async (id) => {
      if (confirm(`Delete snapshot ${id}?`)) await call('DELETE', `/dashboard/api/templates/${id}`);
    },
  });
  await draw();
}

export async function volumesPage(root: HTMLElement): Promise<void> {
  const holder = h('div');
  const name = h('input', { name: 'volume-name', placeholder: 'new volume name', 'aria-label': 'new volume name' });
  const create = h('button', { 'data-action': 'create-volume' }, 'Create');
  root.append(h('h1', {}, 'Volumes'), h('div', { class: 'filters' }, name, create), holder);
  const draw = async () => {
    const list = await call<Array<{ volumeID: string; name: string }>>('GET', '/dashboard/api/volumes');
    holder.replaceChildren(table(['Volume', 'Id', ''], list.map((v) => `<tr data-id="${esc(v.volumeID)}"><td>${esc(v.name)}</td><td>${esc(v.volumeID)}</td>
<td><button data-action="delete" class="danger">Delete</button></td></tr>`)));
  };
  create.addEventListener('click', async () => {
    try {
      await call('POST', '/dashboard/api/volumes', { name: name.value.trim() });
      name.value = '';
      await draw();
    } catch (err) {
      notify((err as Error).message);
    }
  });
  onAction(holder, draw, {
    delete: async (id) => {
      if (confirm(`Delete volume ${id} and its files?`)) await call('DELETE', `/dashboard/api/volumes/${id}`);
    },
  });
  await draw();
}

export async function keysPage(root: HTMLElement): Promise<void> {
  const holder = h('div');
  const name = h('input', { name: 'key-name', placeholder: 'name of the new key', 'aria-label': 'name of the new key' });
  const create = h('button', { 'data-action': 'create-key' }, 'Create key');
  const shown = h('p', { class: 'new-key', 'data-testid': 'new-key', hidden: '' });
  root.append(h('h1', {}, 'API keys'), h('div', { class: 'filters' }, name, create), shown, holder);
  const draw = async () => {
    const data = await call<{ checked: boolean; keys: Array<{ id: string; name: string; createdAt: string }> }>('GET', '/dashboard/live/keys');
    if (!data.checked) {
      holder.replaceChildren(h('p', {}, 'This server checks no API keys (SANDCASTLE_AUTH=none).'));
      create.disabled = true;
      return;
    }
    holder.replaceChildren(table(['Name', 'Id', 'Created', ''], data.keys.map((k) => `<tr data-id="${esc(k.id)}"><td>${esc(k.name)}</td><td>${esc(k.id)}</td>
<td>${esc(time(k.createdAt))}</td><td><button data-action="delete" class="danger">Delete</button></td></tr>`)));
  };
  create.addEventListener('click', async () => {
    try {
      const made = await call<{ key: string }>('POST', '/dashboard/live/keys', { name: name.value.trim() || 'console' });
      shown.replaceChildren('New key (shown only now): ', h('code', {}, made.key));
      shown.hidden = false;
      name.value = '';
      await draw();
    } catch (err) {
      notify((err as Error).message);
    }
  });
  onAction(holder, draw, {
    delete: async (id) => {
      if (confirm(`Delete key ${id}? Requests and console sessions with it are refused from then on.`)) await call('DELETE', `/dashboard/live/keys/${id}`);
    },
  });
  await draw();
}
