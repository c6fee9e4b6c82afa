// Template names as users write them: `name` or `name:tag` (the SDKs' `Template.build(t, 'n:v1')`,
// `Sandbox.create('n:v1')`), and the hosted products' base images that mean the local `base`.
import { errors } from '../../errors.js';

const NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;
const TAG = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$/;

/** Splits and checks `name[:tag]`; `strict` (for names being created) throws on a bad one. */
export function parseTemplateName(ref: string, strict = true): { name: string; tag?: string } {
  const colon = ref.lastIndexOf(':');
  const name = colon === -1 ? ref : ref.slice(0, colon);
  const tag = colon === -1 ? undefined : ref.slice(colon + 1);
  if (strict && !NAME.test(name)) {
    throw errors.invalidTemplate(`template name "${name}" is not valid: use lowercase letters, digits, '.', '_' and '-' (at most 128), starting with a letter or digit`);
  }
  if (strict && tag !== undefined && !TAG.test(tag)) {
    throw errors.invalidTemplate(`tag "${tag}" is not valid: use letters, digits, '.', '_' and '-' (at most 128)`);
  }
  return tag === undefined ? { name } : { name, tag };
}

/** `e2bdev/base`, `novita/base` and the like (any tag) are this server's `base` template. */
export function localTemplateName(ref: string): string {
  const m = /^(?:docker\.io\/)?(?:e2bdev|novita|novitaai)\/(base|code-interpreter(?:-v1)?)(?::[\w.-]+)?$/.exec(ref);
  if (!m) return ref;
  return m[1] === 'base' ? 'base' : 'code-interpreter-v1';
}
