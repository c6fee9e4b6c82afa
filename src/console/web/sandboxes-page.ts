// The sandbox table: every running and paused sandbox with its figures now, refreshed every 2 s,
// filtered by state, template and metadata; each row's actions call the API. Rows are drawn from
// HTML strings and kept while unchanged, and actions are found by delegation: 500 rows stay fast.
import { api, call, type SandboxRow } from './api.js';
import { bytes, esc, h, notify, time } from './dom.js';

const refreshMs = 2000;

/** The row's figures now (CPU, memory): updated in place, so that buttons are never redrawn
 *  under a click. */
function figures(s: SandboxRow): [string, string] {
  return [s.now ? `${s.now.cpuUsedPct.toFixed(1)} %` : '–', s.now ? `${bytes(s.now.memUsed)} / ${bytes(s.now.memTotal)}` : '–'];
}

/** The rest of the row; the row is drawn again only when this changes. */
function rowHtml(s: SandboxRow): string {
  const meta = Object.entries(s.metadata).map(([k, v]) => `<span class="tag">${esc(k)}=${esc(v)}</span>`).join(' ');
  const running = s.phase === 'running';
  const id = esc(s.sandboxID);
  return `<td><a href="/dashboard/inspect/sandbox/${id}">${id}</a></td>
<td>${esc(s.alias ?? s.templateID)}</td><td><span class="state ${esc(s.phase)}">${esc(s.phase)}</span></td><td>${meta}</td>
<td>${esc(time(s.startedAt))}</td><td>${esc(time(s.endAt))}</td><td class="num"></td><td class="num"></td>
<td class="actions">${running ? '<button data-action="pause">Pause</button>' : '<button data-action="resume">Resume</button>'}
<button data-action="clone">Clone</button><button data-action="timeout">Timeout</button><button data-action="kill" class="danger">Kill</button></td>`;
}

/** Makes `body` show `rows` in order, reusing the rows that did not change. */
function drawRows(body: HTMLElement, rows: SandboxRow[], drawn: Map<string, { html: string; tr: HTMLTableRowElement }>): void {
  if (drawn.size === 0 && rows.length > 0) {
    // The first draw: one parse of the whole table is the fastest way to show 500 rows.
    const htmls = rows.map(rowHtml);
    body.innerHTML = htmls.map((html, i) => `<tr data-id="${esc(rows[i]!.sandboxID)}">${html}</tr>`).join('');
    Array.from(body.children as HTMLCollectionOf<HTMLTableRowElement>).forEach((tr, i) => drawn.set(rows[i]!.sandboxID, { html: htmls[i]!, tr }));
  }
  const keep = new Set<string>();
  const trs: HTMLTableRowElement[] = [];
  for (const s of rows) {
    const html = rowHtml(s);
    let row = drawn.get(s.sandboxID);
    if (!row || row.html !== html) {
      const tr = document.createElement('tr');
      tr.dataset.id = s.sandboxID;
      tr.innerHTML = html;
      row = { html, tr };
      drawn.set(s.sandboxID, row);
    }
    const [cpu, mem] = figures(s);
    const cells = row.tr.querySelectorAll('td.num');
    if (cells[0]!.textContent !== cpu) cells[0]!.textContent = cpu;
    if (cells[1]!.textContent !== mem) cells[1]!.textContent = mem;
    keep.add(s.sandboxID);
    trs.push(row.tr);
  }
  for (const id of drawn.keys()) if (!keep.has(id)) drawn.delete(id);
  // Only a change of rows or order touches the table's children.
  const same = trs.length === body.children.length && trs.every((tr, i) => body.children[i] === tr);
  if (same) return;
  if (trs.length === 0) body.innerHTML = '<tr><td colspan="9" class="empty">No sandboxes</td></tr>';
  else body.replaceChildren(...trs);
}

export function sandboxesPage(root: HTMLElement): () => void {
  const state = h('select', { name: 'state', 'aria-label': 'state' });
  state.innerHTML = '<option value="">running and paused</option><option value="running">running</option><option value="paused">paused</option>';
  const template = h('input', { name: 'template', placeholder: 'template', 'aria-label': 'template' });
  const metadata = h('input', { name: 'metadata', placeholder: 'metadata key=value&…', 'aria-label': 'metadata' });
  const count = h('span', { class: 'count' });
  const body = h('tbody');
  const table = h('table', { class: 'sandboxes' });
  table.innerHTML = '<thead><tr><th>Sandbox</th><th>Template</th><th>State</th><th>Metadata</th><th>Started</th><th>Ends</th><th>CPU</th><th>Memory</th><th></th></tr></thead>';
  table.append(body);
  root.append(h('h1', {}, 'Sandboxes'), h('div', { class: 'filters' }, state, template, metadata, count), table);

  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const drawn = new Map<string, { html: string; tr: HTMLTableRowElement }>();
  const refresh = async () => {
    clearTimeout(timer);
    const q = new URLSearchParams();
    if (state.value) q.set('state', state.value);
    if (template.value.trim()) q.set('template', template.value.trim());
    if (metadata.value.trim()) q.set('metadata', metadata.value.trim());
    try {
      const data = await call<{ sandboxes: SandboxRow[]; totalRunning: number }>('GET', `/dashboard/live/sandboxes?${q}`);
      drawRows(body, data.sandboxes, drawn);
      count.textContent = `${data.sandboxes.length} listed, ${data.totalRunning} running`;
    } catch (err) {
      count.textContent = (err as Error).message;
    }
    if (!stopped) timer = setTimeout(refresh, refreshMs);
  };
  for (const input of [state, template, metadata]) input.addEventListener('change', () => void refresh());

  body.addEventListener('click', async (e) => {
    const button = (e.target as HTMLElement).closest('button');
    const id = button?.closest('tr')?.dataset.id;
    if (!button || !id) return;
    button.disabled = true;
    try {
      switch (button.dataset.action) {
        case 'pause': await api.pause(id); break;
        case 'resume': await api.resume(id); break;
        case 'kill': if (confirm(`Kill sandbox ${id}? Its files are lost.`)) await api.kill(id); break;
        case 'clone': {
          const n = Number(prompt('How many clones?', '1'));
          if (Number.isInteger(n) && n > 0) notify(`cloned: ${(await api.clone(id, n)).sandboxes.map((s) => s.sandboxID).join(', ')}`, 'info');
          break;
        }
        case 'timeout': {
          const s = Number(prompt('Seconds from now until it ends:', '300'));
          if (Number.isInteger(s) && s > 0) await api.setTimeout(id, s);
          break;
        }
      }
    } catch (err) {
      notify((err as Error).message);
    } finally {
      button.disabled = false;
      void refresh();
    }
  });

  void refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
