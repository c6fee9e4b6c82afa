// Pulls an image from an OCI registry (Docker Hub by default, through mirrors when set) and
// returns its layers as read-only overlayfs lower folders. The compressed blobs go to a shared
// OCI layout (so a second pull downloads nothing it has), each layer is unpacked once into a
// folder named by its digest, shared by every image that has it.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DOCKER_HUB, formatImageRef, type ImageRef, parseImageRef, type PullSource, pullSources, registryHost, registryRef } from './image-ref.js';
import type { IdMapping } from '../../runtime/id-mapping.js';
import { mapLimit } from '../../map-limit.js';
import { ensureLayer, removeStalePartials } from './layer-store.js';
import { choosePlatform, type Descriptor, hostArchitecture, type ImageConfig, type ImageManifest, imageConfig, isManifestList, layerCompression, type RawConfig } from './manifest.js';
import { type RegistryAuth, Skopeo } from './skopeo.js';

export type { ImageConfig } from './manifest.js';
export type { RegistryAuth } from './skopeo.js';

export interface PulledImage {
  /** Digest of the manifest the reference resolved to at the registry (for a multi-platform
   *  image, of its manifest list): `name@digest` pulls the same image again. */
  digest: string;
  /** Layer folders, TOP FIRST (overlayfs lowerdir order). */
  layers: string[];
  config: ImageConfig;
}

export interface PullOptions {
  /** Where unpacked layers live, one folder per layer (`oci-sha256-<hex>`). */
  layersDir: string;
  /** User-namespace mapping of the sandboxes that will use the layers (layer-store.ts). */
  userns?: IdMapping;
  /** OCI layout holding the pulled blobs. */
  imagesDir: string;
  /** Credentials for the image's own registry (never sent to a mirror). */
  auth?: RegistryAuth;
  /** `host[:port]` of registries tried first for Docker Hub images. */
  registryMirrors?: string[];
  /** `host[:port]` of registries reached over HTTP or with an unverified certificate. */
  insecureRegistries?: string[];
  log: (line: string) => void;
  signal?: AbortSignal;
}

export async function pullImage(ref: string, opts: PullOptions): Promise<PulledImage> {
  const image = parseImageRef(ref);
  const name = formatImageRef(image);
  // skopeo's `oci:<dir>:<name>` syntax splits at the first colon.
  if (opts.imagesDir.includes(':')) throw new Error(`the images folder ${opts.imagesDir} may not contain ':' (skopeo's oci: syntax)`);
  const started = Date.now();
  const skopeo = await Skopeo.open({
    auth: opts.auth,
    authRegistry: image.registry,
    insecureRegistries: (opts.insecureRegistries ?? []).map(registryHost),
    signal: opts.signal,
  });
  try {
    await removeStalePartials(opts.layersDir);
    const { source, raw } = await resolve(skopeo, image, name, opts);
    const digest = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
    if (image.digest !== null && digest !== image.digest) {
      throw new Error(`registry ${source.registry} served a manifest of digest ${digest} for ${name}, not the one asked for`);
    }
    let instance = digest;
    const doc = parseJson<{ mediaType?: string; manifests?: Descriptor[] }>(raw.toString(), `the manifest of ${name} from ${source.registry}`);
    if (isManifestList(doc)) {
      const arch = hostArchitecture();
      instance = choosePlatform(doc, name, arch).digest;
      opts.log(`${name} is multi-platform: taking the linux/${arch} image ${instance}`);
    }

    await mkdir(opts.imagesDir, { recursive: true });
    const copyStarted = Date.now();
    const pinned = `${source.registry}/${image.repository}@${instance}`;
    const localDigest = await oneCopyAtATime(opts.imagesDir, () =>
      skopeo.copyToLayout(pinned, source.registry, opts.imagesDir, layoutName(image, instance), name),
    );
    const manifest = parseJson<ImageManifest>(await readFile(blobFile(opts.imagesDir, localDigest), 'utf8'), `the manifest of ${name}`);
    const config = parseJson<RawConfig>(await readFile(blobFile(opts.imagesDir, manifest.config.digest), 'utf8'), `the config of ${name}`);
    // Every layer's format is checked before any is unpacked.
    const blobs = manifest.layers.map((l) => ({ digest: l.digest, compression: layerCompression(l.mediaType, name), file: blobFile(opts.imagesDir, l.digest), size: l.size }));
    const totalMb = blobs.reduce((n, l) => n + l.size, 0) / 1e6;
    opts.log(`blobs of ${blobs.length} layers (${totalMb.toFixed(1)} MB) present in ${((Date.now() - copyStarted) / 1000).toFixed(1)} s`);

    const layers = await mapLimit(blobs, os.availableParallelism(), (blob) => ensureLayer(opts.layersDir, blob, opts));
    opts.log(`pulled ${name} (${digest}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { digest, layers: layers.reverse(), config: imageConfig(config) };
  } finally {
    await skopeo.close();
  }
}

/** The raw manifest from the first registry that serves it: mirrors, then the image's own. */
async function resolve(skopeo: Skopeo, image: ImageRef, name: string, opts: PullOptions): Promise<{ source: PullSource; raw: Buffer }> {
  const mirrorFailures: string[] = [];
  for (const source of pullSources(image, opts.registryMirrors ?? [])) {
    const where = source.mirror ? `mirror ${source.registry}` : source.registry === DOCKER_HUB ? 'Docker Hub' : source.registry;
    opts.log(`pulling ${name} from ${where}`);
    try {
      const raw = await skopeo.inspectRaw(registryRef(image, source.registry), source.registry, name);
      return { source, raw };
    } catch (e) {
      if (opts.signal?.aborted || !source.mirror) {
        if (mirrorFailures.length === 0 || opts.signal?.aborted) throw e;
        throw new Error(`${(e as Error).message} (the mirrors failed first: ${mirrorFailures.join('; ')})`, { cause: e });
      }
      mirrorFailures.push((e as Error).message);
      opts.log(`${(e as Error).message}; trying the next registry`);
    }
  }
  throw new Error('unreachable: the image registry is always the last source');
}

function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${what} is not JSON (${(e as Error).message}): ${text.slice(0, 200)}`);
  }
}

function blobFile(layoutDir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  if (algorithm !== 'sha256' || !/^[a-f0-9]{64}$/.test(hex ?? '')) throw new Error(`unexpected blob digest "${digest}" in ${layoutDir}`);
  return path.join(layoutDir, 'blobs', algorithm, hex!);
}

/** The image's name in the layout's index.json, in the character set OCI allows there (a run of
 *  separators, legal in tags and repositories, becomes one '-'). */
function layoutName(image: ImageRef, instance: string): string {
  return `${image.registry}/${image.repository}@${instance}`.replace(/[^A-Za-z0-9]{2,}/g, '-');
}

/** skopeo rewrites the layout's index.json without a lock: copies into one layout take turns. */
const layoutTurns = new Map<string, Promise<unknown>>();

function oneCopyAtATime<T>(layoutDir: string, fn: () => Promise<T>): Promise<T> {
  const key = path.resolve(layoutDir);
  const run = (layoutTurns.get(key) ?? Promise.resolve()).catch(() => undefined).then(fn);
  layoutTurns.set(key, run);
  void run.catch(() => undefined).finally(() => {
    if (layoutTurns.get(key) === run) layoutTurns.delete(key);
  });
  return run;
}
