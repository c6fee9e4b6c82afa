// Kernels installed the Jupyter way, for the languages the SDK offers beyond those this interpreter
// runs itself: R (IRkernel, which code-interpreter-v1 has) and Java (IJava, which it has not). A
// kernelspec is a folder with a kernel.json naming the kernel's command line; it is looked up when
// a context needs it, so a kernel installed inside a running sandbox is found too.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { languages, type Language } from './kernel.js';

export interface KernelSpec {
  argv: string[];
  interruptMode: 'signal' | 'message';
}

/** Where Debian's packages (r-cran-irkernel) and system-wide installs put kernelspecs. */
export const kernelSpecDirs = ['/usr/local/share/jupyter/kernels', '/usr/share/jupyter/kernels'];

const installable: Partial<Record<Language, { specs: readonly string[]; what: string }>> = {
  r: { specs: ['ir'], what: "an R kernel (R with IRkernel: Debian's r-base-core and r-cran-irkernel)" },
  java: { specs: ['java'], what: 'a Java kernel (a JDK with IJava)' },
};

/** The kernelspec for a language that needs one; undefined when none is installed. */
export function kernelSpecFor(language: Language, dirs: readonly string[] = kernelSpecDirs): KernelSpec | undefined {
  for (const name of installable[language]?.specs ?? []) {
    for (const dir of dirs) {
      const folder = path.join(dir, name);
      let spec: { argv?: unknown; interrupt_mode?: unknown };
      try {
        spec = JSON.parse(readFileSync(path.join(folder, 'kernel.json'), 'utf8')) as typeof spec;
      } catch {
        continue;
      }
      if (!Array.isArray(spec.argv) || spec.argv.length === 0 || !spec.argv.every((a) => typeof a === 'string')) continue;
      return {
        argv: (spec.argv as string[]).map((arg) => arg.replaceAll('{resource_dir}', folder)),
        interruptMode: spec.interrupt_mode === 'message' ? 'message' : 'signal',
      };
    }
  }
  return undefined;
}

/** Why code in `language` cannot run in this sandbox, or undefined when it can. */
export function missingKernel(language: Language, dirs: readonly string[] = kernelSpecDirs): string | undefined {
  const needs = installable[language];
  if (!needs || kernelSpecFor(language, dirs)) return undefined;
  const runnable = languages.filter((l) => !installable[l] || kernelSpecFor(l, dirs));
  return (
    `the ${language} language needs ${needs.what}, which this sandbox does not have ` +
    `(no '${needs.specs.join("' or '")}' kernelspec in ${dirs.join(' or ')}); it runs ${runnable.join(', ')}`
  );
}
