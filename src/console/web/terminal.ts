// The sandbox's terminal: xterm.js drawing a shell that runs on a PTY in the sandbox. Output comes
// as server-sent events, keystrokes go out as POSTs in order. A sandbox that is not running shows
// why, with a button that resumes it.
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { api } from './api.js';
import { h, notify } from './dom.js';

export class SandboxTerminal {
  readonly el = h('div', { class: 'terminal-box' });
  private readonly screen = h('div', { class: 'terminal', 'data-testid': 'terminal' });
  private readonly status = h('div', { class: 'terminal-status' });
  private readonly term = new Terminal({ convertEol: false, fontSize: 13, cursorBlink: true, scrollback: 5000 });
  private readonly fit = new FitAddon();
  private events: EventSource | undefined;
  private terminalId: string | undefined;
  /** Keystrokes not yet sent; one POST at a time keeps them in order. */
  private pending = '';
  private sending = false;
  private readonly encoder = new TextEncoder();

  constructor(private readonly sandboxId: string) {
    this.el.append(this.status, this.screen);
    this.term.loadAddon(this.fit);
    this.term.open(this.screen);
    this.term.onData((text) => {
      this.pending += text;
      void this.flush();
    });
    this.term.onResize(({ cols, rows }) => {
      if (this.terminalId) void fetch(`/dashboard/live/terminals/${this.terminalId}/resize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cols, rows }) });
    });
    addEventListener('resize', this.onWindowResize);
  }

  private readonly onWindowResize = () => this.fit.fit();

  /** Opens a shell if none is open or opening. */
  ensureOpen(): void {
    if (!this.events) this.open();
  }

  /** Opens a new shell (closing the one open). */
  open(): void {
    this.close();
    this.fit.fit();
    this.setStatus('connecting…');
    const events = new EventSource(`/dashboard/live/sandboxes/${this.sandboxId}/terminal?cols=${this.term.cols}&rows=${this.term.rows}`);
    this.events = events;
    events.addEventListener('ready', (e) => {
      this.terminalId = (JSON.parse((e as MessageEvent).data) as { terminalId: string }).terminalId;
      this.term.reset();
      this.setStatus('');
      this.term.focus();
    });
    events.addEventListener('data', (e) => {
      const raw = atob((e as MessageEvent).data as string);
      this.term.write(Uint8Array.from(raw, (ch) => ch.charCodeAt(0)));
    });
    events.addEventListener('paused', (e) => {
      this.close();
      const { message } = JSON.parse((e as MessageEvent).data) as { message: string };
      const resume = h('button', { 'data-action': 'resume-terminal' }, 'Resume sandbox');
      resume.addEventListener('click', async () => {
        resume.disabled = true;
        try {
          await api.resume(this.sandboxId);
          this.open();
        } catch (err) {
          notify((err as Error).message);
          resume.disabled = false;
        }
      });
      this.setStatus(message, resume);
    });
    events.addEventListener('end', (e) => this.ended((JSON.parse((e as MessageEvent).data) as { message: string }).message));
    // EventSource would reconnect by itself and start another shell: the page decides instead.
    events.addEventListener('error', () => {
      if (this.events === events) this.ended('the connection to the server was lost');
    });
  }

  private ended(why: string): void {
    this.close();
    const again = h('button', { 'data-action': 'reopen-terminal' }, 'Open a new shell');
    again.addEventListener('click', () => this.open());
    this.setStatus(why, again);
  }

  private setStatus(text: string, ...extra: Node[]): void {
    this.status.replaceChildren(text, ...extra);
    this.status.hidden = text === '' && extra.length === 0;
  }

  private async flush(): Promise<void> {
    if (this.sending || !this.terminalId || this.pending === '') return;
    this.sending = true;
    const chunk = this.pending;
    this.pending = '';
    try {
      const res = await fetch(`/dashboard/live/terminals/${this.terminalId}/input`, { method: 'POST', body: this.encoder.encode(chunk) });
      if (!res.ok) this.ended(((await res.json().catch(() => ({}))) as { message?: string }).message ?? `input refused (${res.status})`);
    } finally {
      this.sending = false;
      void this.flush();
    }
  }

  /** Stops the stream (the server kills the shell). */
  close(): void {
    this.events?.close();
    this.events = undefined;
    this.terminalId = undefined;
    this.pending = '';
  }

  dispose(): void {
    this.close();
    removeEventListener('resize', this.onWindowResize);
    this.term.dispose();
  }
}
