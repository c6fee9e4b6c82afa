// The templates every server has: `base` and `code-interpreter-v1`, built on first use (cached
// afterwards) and recorded in the template registry.
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { interpreterPort } from '../protocol.js';
import { sandboxBundleDir, sandboxNode } from '../runtime/runc/oci-spec.js';
import { notBuilt, type TemplateStore } from '../store/template-store.js';
import { ensureBuiltinTemplates } from './rootfs-builder.js';

/** Services that a built-in template starts beside envd. */
const startCommands: Record<string, string> = {
  // The code interpreter (src/interpreter), bundled into the mounted folder.
  'code-interpreter-v1': `${sandboxNode} ${sandboxBundleDir}/interpreter.mjs`,
};

/** Where those services answer `GET /health` with 200 once ready (the interpreter: kernel warm). */
const readyPorts: Record<string, number> = { 'code-interpreter-v1': interpreterPort };

export async function registerBuiltinTemplates(config: Config, templates: TemplateStore, log: Logger): Promise<void> {
  const built = await ensureBuiltinTemplates(config, { log: (line) => log.info(`template ${line}`) });
  for (const t of built) {
    templates.upsert({
      ...notBuilt,
      id: t.templateId,
      alias: t.templateId,
      layers: t.layers,
      cpuCount: config.defaultCpuCount,
      memoryMB: config.defaultMemoryMB,
      diskSizeMB: config.defaultDiskSizeMB,
      startCmd: startCommands[t.templateId] ?? null,
      readyPort: readyPorts[t.templateId] ?? null,
      createdAt: templates.find(t.templateId)?.createdAt ?? Date.now(),
    });
  }
}
