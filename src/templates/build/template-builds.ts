// Template builds as the API sees them: request one (a template and a build id), take its COPY
// uploads, start it in the background, report its status and log, name builds with tags, list and
// delete templates. The build itself is TemplateBuilder's; each lives on after the client stops
// polling, and a server restart marks the ones it cut short as failed.
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { type Config, dataFiles } from '../../config.js';
import { mappingTag } from '../../runtime/id-mapping.js';
import { errors } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { BuildObserver } from '../../metrics/prometheus-hooks.js';
import type { SandboxService } from '../../sandboxes/sandbox-service.js';
import { ServiceNotReady } from '../../sandboxes/boot-states.js';
import type { BuildLogEntry, BuildRecord, TemplateBuildStore } from '../../store/template-build-store.js';
import type { TemplateRecord, TemplateStore } from '../../store/template-store.js';
import { type BuildBody, baseKey, stepProblem } from './build-steps.js';
import { FileUploads } from './file-uploads.js';
import { pruneLayers, touchLayers } from './layer-cache.js';
import { removeUnusedBuilds, templatesRoot } from '../rootfs-builder.js';
import { type BuildBase, BuildFailure, TemplateBuilder } from './template-builder.js';
import { localTemplateName, parseTemplateName } from './template-names.js';

/** Pulls an image into read-only layers (src/templates/oci); injected so tests can swap it. */
export type PullImage = (ref: string, opts: {
  auth?: { username: string; password: string };
  log: (line: string) => void;
  signal?: AbortSignal;
}) => Promise<{ digest: string; layers: string[]; config: { env: string[]; workingDir: string | null } }>;

export interface RequestBuildInput {
  name: string;
  tags?: string[];
  cpuCount?: number;
  memoryMB?: number;
}

const defaultTag = 'default';

export class TemplateBuilds {
  readonly uploads: FileUploads;
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private readonly files;

  constructor(
    private readonly config: Config,
    private readonly templates: TemplateStore,
    private readonly builds: TemplateBuildStore,
    private readonly sandboxes: SandboxService,
    private readonly pull: PullImage,
    private readonly log: Logger,
    private readonly observe?: BuildObserver,
  ) {
    this.files = dataFiles(config.dataDir);
    this.uploads = new FileUploads(this.files.uploads, config.maxUploadBytes);
  }

  /** At start: builds a dead server left `waiting` or `building` failed; their work is removed. */
  async recover(): Promise<number> {
    const cut = this.builds.inFlight();
    for (const b of cut) {
      this.builds.appendLog(b.id, { timestamp: Date.now(), level: 'error', message: 'the server restarted during this build' });
      this.builds.finish(b.id, { status: 'error', reason: { message: 'the server restarted during this build; start it again' } });
    }
    await rm(this.files.builds, { recursive: true, force: true });
    await this.uploads.sweepPartial();
    await this.prune();
    return cut.length;
  }

  /** Applies the layer cache's pruning rule (layer-cache.ts) and removes built-in templates'
   *  earlier builds nothing records any more (rootfs-builder.ts); skipped while a build runs, whose
   *  layers no record lists yet. */
  async prune(): Promise<void> {
    if (this.running.size > 0) return;
    const inUse = new Set([...this.builds.layersInUse(), ...this.sandboxes.layersInUse()]);
    for (const t of this.templates.all()) for (const l of t.layers) inUse.add(l);
    const report = await pruneLayers(this.files.layers, inUse, this.config.layerCacheDays * 24 * 3600 * 1000);
    if (report.removed.length) this.log.info({ removed: report.removed }, `layer cache: removed ${report.removed.length} layer(s) unused for ${this.config.layerCacheDays} days`);
    const earlier = await removeUnusedBuilds(templatesRoot(this.config), inUse);
    if (earlier.length) this.log.info({ removed: earlier }, `removed ${earlier.length} earlier build(s) of built-in templates that no sandbox, snapshot or template uses`);
  }

  requestBuild(input: RequestBuildInput): { template: TemplateRecord | undefined; templateId: string; build: BuildRecord; names: string[]; tags: string[] } {
    const { name, tag } = parseTemplateName(input.name);
    const existing = this.templates.find(name);
    if (existing && existing.buildId === null) throw errors.builtinTemplate(existing.id);
    const templateId = existing?.id ?? this.pendingId(name) ?? newTemplateId();
    const busy = this.builds.ofTemplate(templateId).find((b) => b.status === 'building');
    if (busy) throw errors.templateBuilding(name, busy.id);
    const cpuCount = input.cpuCount ?? existing?.cpuCount ?? this.config.defaultCpuCount;
    const memoryMB = input.memoryMB ?? existing?.memoryMB ?? this.config.defaultMemoryMB;
    if (!Number.isInteger(cpuCount) || cpuCount < 1) throw errors.invalidTemplate(`cpuCount must be a whole number of at least 1, got ${cpuCount}`);
    if (!Number.isInteger(memoryMB) || memoryMB < 128) throw errors.invalidTemplate(`memoryMB must be a whole number of at least 128, got ${memoryMB}`);
    const build = { id: newBuildId(), templateId, cpuCount, memoryMB, createdAt: Date.now() };
    this.builds.insert(build);
    const tags = [...new Set([tag ?? defaultTag, ...(input.tags ?? [])])];
    this.pending.set(build.id, { name, tags });
    return { template: existing, templateId, build: this.builds.get(build.id)!, names: tags.map((t) => `${name}:${t}`), tags };
  }

  /** Name and tags of builds requested but not yet finished (the template row comes with the first ready build). */
  private readonly pending = new Map<string, { name: string; tags: string[] }>();

  private pendingId(name: string): string | undefined {
    for (const [buildId, p] of this.pending) if (p.name === name) return this.builds.get(buildId)?.templateId;
    return undefined;
  }

  /** The COPY upload URL for a files hash (the SDK uploads only when `present` is false). */
  uploadLink(templateId: string, hash: string, origin: string): { present: boolean; url?: string } {
    FileUploads.checkHash(hash);
    this.findTemplateOrBuild(templateId);
    if (this.uploads.has(hash)) return { present: true };
    return { present: false, url: `${origin}${this.uploads.signedPath(templateId, hash)}` };
  }

  private findTemplateOrBuild(templateId: string): void {
    if (this.templates.find(templateId)) return;
    if (this.builds.ofTemplate(templateId).length > 0) return;
    throw errors.templateNotFound(templateId);
  }

  /** Checks the body and starts the build in the background. */
  start(templateId: string, buildId: string, body: BuildBody): void {
    const build = this.builds.get(buildId);
    if (!build || build.templateId !== templateId) throw errors.templateBuildNotFound(templateId, buildId);
    if (build.status !== 'waiting') throw errors.buildAlreadyStarted(buildId, build.status);
    if (!body.fromImage === !body.fromTemplate) throw errors.invalidTemplate('give exactly one of fromImage and fromTemplate');
    for (const [i, step] of body.steps.entries()) {
      const problem = stepProblem(step, i + 1);
      if (problem) throw errors.invalidTemplate(problem);
      if (step.type === 'COPY' && !this.uploads.has(step.filesHash!)) throw errors.uploadMissing(step.filesHash!, i + 1);
    }
    if (body.fromTemplate) this.localBase(body.fromTemplate);
    if (!this.builds.markBuilding(buildId)) throw errors.buildAlreadyStarted(buildId, 'building');
    const abort = new AbortController();
    const done = this.run(build, body, abort.signal).finally(() => {
      this.running.delete(buildId);
      this.pending.delete(buildId);
    });
    this.running.set(buildId, { abort, done });
  }

  private entry(buildId: string, e: Omit<BuildLogEntry, 'timestamp'>): void {
    this.log[e.level === 'debug' ? 'debug' : e.level]({ buildId, step: e.step }, `build ${buildId}: ${e.message}`);
    try {
      this.builds.appendLog(buildId, { timestamp: Date.now(), ...e });
    } catch (err) {
      // A full disk must not turn a step's own failure into a logging one: the server's log has it.
      this.log.error({ buildId, err }, `build ${buildId}: a log line could not be stored`);
    }
  }

  private async run(build: BuildRecord, body: BuildBody, signal: AbortSignal): Promise<void> {
    const work = path.join(this.files.builds, build.id);
    const say = (e: Omit<BuildLogEntry, 'timestamp'>) => this.entry(build.id, e);
    const started = Date.now();
    try {
      await mkdir(work, { recursive: true });
      const size = { cpuCount: build.cpuCount, memoryMB: build.memoryMB, diskSizeMB: this.config.defaultDiskSizeMB };
      const deps = {
        layersDir: this.files.layers,
        userns: this.config.userns,
        workDir: work,
        sandboxes: this.sandboxes.buildSandboxes(),
        uploadOf: (hash: string) => (this.uploads.has(hash) ? this.uploads.tarPath(hash) : undefined),
        log: say,
        signal,
      };
      const base = body.fromTemplate ? this.fromTemplate(body.fromTemplate, say) : await this.fromImage(body, say, signal);
      const builder = new TemplateBuilder(base, size, deps, body.force ?? false);
      if (body.fromImage) await builder.addUserAccount();
      const steps = body.preBootScript ? [{ type: 'RUN' as const, args: [body.preBootScript, 'root'] }, ...body.steps] : body.steps;
      await builder.runSteps(steps);
      const pending = this.pending.get(build.id);
      const name = pending?.name ?? this.templates.find(build.templateId)?.alias ?? build.templateId;
      const template = builder.result(
        { id: build.templateId, alias: name, buildId: build.id, createdAt: this.templates.find(build.templateId)?.createdAt ?? Date.now() },
        body.startCmd || null,
        body.readyCmd || null,
      );
      if (template.serviceCmd || template.readyCmd) say({ level: 'info', message: `starting "${template.serviceCmd ?? ''}" and waiting for "${template.readyCmd ?? ''}"`, step: 'finalize' });
      try {
        await this.sandboxes.prepareBuiltTemplate(template, this.config.templateReadyTimeoutSeconds * 1000);
      } catch (err) {
        throw new BuildFailure(`the template's start command did not get ready: ${(err as Error).message}`, 'finalize');
      }
      // Deleted meanwhile: the build must not bring the template back.
      if (signal.aborted) throw new BuildFailure('the build was cancelled (its template was deleted or the server is stopping)', 'finalize');
      this.templates.upsert(template);
      for (const tag of pending?.tags ?? [defaultTag]) this.builds.setTag(build.templateId, tag, build.id);
      this.builds.finish(build.id, { status: 'ready', result: template });
      this.observe?.('ready', (Date.now() - started) / 1000);
      say({ level: 'info', message: `build ready in ${((Date.now() - started) / 1000).toFixed(1)} s: template ${name} (${build.templateId})` });
      await this.sandboxes.templateChanged(build.templateId);
    } catch (err) {
      const failure = err instanceof BuildFailure || err instanceof ServiceNotReady;
      const message = failure ? (err as Error).message : `internal error: ${(err as Error).message}`;
      if (!failure) this.log.error({ buildId: build.id, err }, `build ${build.id} failed`);
      say({ level: 'error', message, step: err instanceof BuildFailure ? err.step : undefined });
      this.builds.finish(build.id, { status: 'error', reason: { message, step: err instanceof BuildFailure ? err.step : undefined } });
      this.observe?.('error', (Date.now() - started) / 1000);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  private localBase(ref: string): TemplateRecord {
    const name = localTemplateName(ref);
    const t = this.templates.find(name);
    if (!t) throw errors.invalidTemplate(`fromTemplate "${ref}": no template "${name}" on this server`);
    return t;
  }

  private fromTemplate(ref: string, say: (e: Omit<BuildLogEntry, 'timestamp'>) => void): BuildBase {
    const t = this.localBase(ref);
    say({ level: 'info', message: `FROM template ${t.alias ?? t.id}`, step: 'base' });
    return {
      key: baseKey(`template:${t.layers.join(':')}`),
      layers: t.layers,
      envVars: t.envVars,
      user: t.defaultUser ?? 'user',
      workdir: t.defaultWorkdir,
    };
  }

  private async fromImage(body: BuildBody, say: (e: Omit<BuildLogEntry, 'timestamp'>) => void, signal: AbortSignal): Promise<BuildBase> {
    const ref = body.fromImage!;
    // The hosted products' own base images are the local `base` template here.
    const local = localTemplateName(ref);
    if (local !== ref || this.templates.find(ref)?.buildId === null) return this.fromTemplate(local, say);
    say({ level: 'info', message: `FROM ${ref}: pulling`, step: 'base' });
    const reg = body.fromImageRegistry;
    if (reg && reg.type !== 'registry') throw new BuildFailure(`fromImageRegistry type "${reg.type}" is not supported here; use {type: "registry", username, password}`, 'base');
    const auth = reg?.username !== undefined && reg.password !== undefined ? { username: reg.username, password: reg.password } : undefined;
    try {
      const image = await this.pull(ref, { auth, log: (line) => say({ level: 'info', message: line, step: 'base' }), signal });
      await touchLayers(image.layers);
      const envVars = Object.fromEntries(image.config.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]).filter(([k]) => k));
      // Layers of another ownership (user namespaces on or off) are other layers.
      const owners = this.config.userns ? `;${mappingTag(this.config.userns)}` : '';
      return { key: baseKey(`image:${image.digest}${owners}`), layers: image.layers, envVars, user: 'user', workdir: null };
    } catch (err) {
      throw new BuildFailure(`pulling ${ref} failed: ${(err as Error).message}`, 'base');
    }
  }

  status(templateId: string, buildId: string, offset: number, limit: number, level?: BuildLogEntry['level']) {
    const build = this.builds.get(buildId);
    if (!build || build.templateId !== templateId) throw errors.templateBuildNotFound(templateId, buildId);
    const logEntries = this.builds.logs(buildId, offset, limit, level);
    return { build, logEntries };
  }

  assignTags(target: string, tags: string[]): { buildId: string; tags: string[] } {
    const { name, tag } = parseTemplateName(target);
    const t = this.userTemplate(name);
    const source = tag ? this.builds.tag(t.id, tag) : undefined;
    if (tag && !source) throw errors.templateNotFound(target);
    const buildId = source?.buildId ?? t.buildId!;
    for (const each of tags) this.builds.setTag(t.id, parseTemplateName(`${name}:${each}`).tag!, buildId);
    return { buildId, tags };
  }

  removeTags(name: string, tags: string[]): void {
    const t = this.userTemplate(parseTemplateName(name).name);
    for (const tag of tags) this.builds.deleteTag(t.id, tag);
  }

  tags(templateId: string) {
    const t = this.userTemplate(templateId);
    return this.builds.tags(t.id);
  }

  /** The template a name or id and optional tag name (`name:tag`): a tag picks that build. */
  resolve(ref: string): TemplateRecord | undefined {
    const { name, tag } = parseTemplateName(ref, false);
    const t = this.templates.find(name);
    if (!t || tag === undefined || t.buildId === null) return tag === undefined || tag === defaultTag ? t : undefined;
    const tagged = this.builds.tag(t.id, tag);
    return tagged ? this.builds.get(tagged.buildId)?.result ?? undefined : undefined;
  }

  private userTemplate(idOrName: string): TemplateRecord {
    const t = this.templates.find(idOrName);
    if (!t) throw errors.templateNotFound(idOrName);
    if (t.buildId === null) throw errors.builtinTemplate(t.id);
    return t;
  }

  buildsOf(templateId: string): BuildRecord[] {
    return this.builds.ofTemplate(templateId);
  }

  /** Deletes a user template: sandboxes running from it keep their layers (layers are removed
   *  only by the cache's pruning, never while something uses them). */
  async delete(idOrName: string): Promise<void> {
    const t = this.userTemplate(idOrName);
    for (const b of this.builds.ofTemplate(t.id)) this.running.get(b.id)?.abort.abort();
    this.templates.delete(t.id);
    this.builds.deleteTemplate(t.id);
    await this.sandboxes.templateDeleted(t.id);
    await this.prune();
  }

  /** Deletes the user template `ref` names; false when it names none. */
  async deleteIfExists(ref: string): Promise<boolean> {
    const t = this.resolve(ref);
    if (!t) return false;
    if (t.buildId === null) throw errors.builtinTemplate(t.id);
    await this.delete(t.id);
    return true;
  }

  setPublic(idOrName: string, value: boolean): TemplateRecord {
    const t = this.userTemplate(idOrName);
    this.templates.setPublic(t.id, value);
    return { ...t, public: value };
  }

  list(): TemplateRecord[] {
    return this.templates.all();
  }

  /** Stops builds in flight (at shutdown): they end as failed, their sandboxes removed. */
  async close(): Promise<void> {
    const inFlight = [...this.running.values()];
    for (const r of inFlight) r.abort.abort();
    await Promise.all(inFlight.map((r) => r.done));
  }
}

function newTemplateId(): string {
  return randomBytes(10).toString('hex');
}

function newBuildId(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
