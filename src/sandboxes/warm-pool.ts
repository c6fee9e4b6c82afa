// Sandboxes started ahead of demand, per template, for creates to take: a create then only hands
// envd its token and environment. Refilled in the background, one sandbox at a time.
import type { Logger } from '../log.js';
import type { SandboxRecord } from '../store/sandbox-store.js';
import type { TemplateRecord } from '../store/template-store.js';

export class WarmPool {
  private readonly queues = new Map<string, SandboxRecord[]>();
  private filling = Promise.resolve();
  private closing = false;

  /** `startOne` starts a sandbox of the template's current version, not yet initialised. */
  constructor(
    private readonly size: number,
    private readonly startOne: (template: TemplateRecord) => Promise<SandboxRecord>,
    private readonly log: Logger,
  ) {}

  /** A started sandbox of the template, if one is ready; the pool is topped up behind it. */
  take(template: TemplateRecord): SandboxRecord | undefined {
    const taken = this.queues.get(template.id)?.shift();
    if (taken) this.fill(template);
    return taken;
  }

  /** Tops the template's pool up in the background. */
  fill(template: TemplateRecord): void {
    if (this.size <= 0) return;
    this.filling = this.filling.then(async () => {
      const queue = this.queues.get(template.id) ?? [];
      this.queues.set(template.id, queue);
      try {
        while (!this.closing && queue.length < this.size) queue.push(await this.startOne(template));
      } catch (err) {
        // The chain must never reject: later fills and close() wait on it.
        this.log.error({ templateId: template.id, err }, `template ${template.id}: cannot start a sandbox for the warm pool`);
      }
    });
  }

  /** Takes the template's pooled sandboxes out but those `keep` accepts (the caller removes
   *  them): it changed or is gone. A fill under way for it ends first. */
  async drain(templateId: string, keep: (rec: SandboxRecord) => boolean = () => false): Promise<SandboxRecord[]> {
    await this.filling;
    const queue = this.queues.get(templateId) ?? [];
    const kept = queue.filter(keep);
    if (kept.length) this.queues.set(templateId, kept);
    else this.queues.delete(templateId);
    return queue.filter((rec) => !kept.includes(rec));
  }

  /** Resolves once every fill asked for so far is done. */
  settled(): Promise<void> {
    return this.filling;
  }

  /** Stops filling and forgets the pooled sandboxes (the caller removes them). */
  async close(): Promise<void> {
    this.closing = true;
    await this.filling;
    this.queues.clear();
  }
}
