// A sandbox's files: a directory at a time (directories open, files download), and uploads into
// the directory shown. The server talks to envd; the file itself streams through.
import { call } from './api.js';
import { bytes, esc, h, notify } from './dom.js';

interface Listing {
  path: string;
  entries: Array<{ name: string; path: string; type: 'file' | 'dir' | 'other'; size: number; modified: string | null }>;
}

export class FileBrowser {
  readonly el = h('div', { class: 'files', 'data-testid': 'files' });
  private readonly where = h('input', { name: 'path', 'aria-label': 'directory', value: '~' });
  private readonly list = h('tbody');
  private readonly message = h('p', { class: 'files-message' });
  private readonly picker = h('input', { type: 'file', name: 'upload', 'aria-label': 'file to upload' });
  private dir = '~';

  constructor(private readonly sandboxId: string) {
    const go = h('button', { 'data-action': 'list' }, 'Open');
    const up = h('button', { 'data-action': 'up' }, 'Up');
    const send = h('button', { 'data-action': 'upload' }, 'Upload here');
    go.addEventListener('click', () => void this.show(this.where.value.trim() || '~'));
    this.where.addEventListener('keydown', (e) => e.key === 'Enter' && void this.show(this.where.value.trim() || '~'));
    up.addEventListener('click', () => void this.show(this.dir === '/' ? '/' : this.dir.replace(/\/[^/]+\/?$/, '') || '/'));
    send.addEventListener('click', () => void this.upload());
    const table = h('table', { class: 'file-list' });
    table.innerHTML = '<thead><tr><th>Name</th><th>Size</th><th>Modified</th></tr></thead>';
    table.append(this.list);
    this.list.addEventListener('click', (e) => {
      const a = (e.target as HTMLElement).closest('a[data-dir]');
      if (!a) return;
      e.preventDefault();
      void this.show(a.getAttribute('data-dir')!);
    });
    this.el.append(h('div', { class: 'filters' }, up, this.where, go, this.picker, send), this.message, table);
  }

  async show(dir = this.dir): Promise<void> {
    try {
      const listing = await call<Listing>('GET', `/dashboard/live/sandboxes/${this.sandboxId}/files?${new URLSearchParams({ path: dir })}`);
      this.dir = listing.path;
      this.where.value = listing.path;
      this.message.textContent = '';
      const base = `/dashboard/live/sandboxes/${this.sandboxId}/files/download?path=`;
      this.list.innerHTML = listing.entries
        .map((e) => {
          const link = e.type === 'dir'
            ? `<a href="#" data-dir="${esc(e.path)}">${esc(e.name)}/</a>`
            : `<a href="${base}${encodeURIComponent(e.path)}" download="${esc(e.name)}">${esc(e.name)}</a>`;
          return `<tr><td>${link}</td><td class="num">${e.type === 'file' ? bytes(e.size) : ''}</td><td>${e.modified ? esc(new Date(e.modified).toLocaleString()) : ''}</td></tr>`;
        })
        .join('') || '<tr><td colspan="3" class="empty">empty directory</td></tr>';
    } catch (err) {
      this.message.textContent = (err as Error).message;
      this.list.replaceChildren();
    }
  }

  private async upload(): Promise<void> {
    const file = this.picker.files?.[0];
    if (!file) return notify('choose a file to upload first');
    const target = `${this.dir.replace(/\/$/, '')}/${file.name}`;
    const res = await fetch(`/dashboard/live/sandboxes/${this.sandboxId}/files/upload?${new URLSearchParams({ path: target })}`, { method: 'POST', body: file });
    if (!res.ok) return notify(((await res.json().catch(() => ({}))) as { message?: string }).message ?? `upload refused (${res.status})`);
    this.picker.value = '';
    notify(`uploaded ${target}`, 'info');
    await this.show();
  }
}
