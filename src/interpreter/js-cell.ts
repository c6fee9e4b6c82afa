// Turns one JavaScript cell into a script that behaves like a REPL entry: top-level declarations
// outlive the cell (and may be declared again by a later one), `await` and `import` work at the top
// level, and the value of a final expression statement is the cell's result.
//
// The cell becomes `var <names>; (async () => { <cell> })()`, written on the cell's first line so
// that line numbers in stack traces stay the user's. Inside, each top-level declaration turns into
// an assignment to the hoisted global: `const {a, b} = o` → `void (({a, b} = o))`, `class C {}` →
// `C = class C {}`, `import x from 'm'` → `({default: x} = await __sandcastleImport('m'))`. Function
// declarations stay (they are hoisted inside the wrapper) and are copied to the global at its start.
// Declared names thus become `var`s: `const` is not enforced across cells, as in Node's own REPL
// when it rewrites a cell with top-level await.
import { parse, type Declaration, type ImportDeclaration, type Node, type Options, type Pattern, type Program, type Statement } from 'acorn';

export class CellSyntaxError extends Error {
  constructor(message: string, readonly line: number, readonly column: number) {
    super(message);
    this.name = 'SyntaxError';
  }
}

export interface PreparedCell {
  /** Evaluates (as a classic script) to a promise of the cell's value. */
  script: string;
  /** Whether the cell ends in an expression statement, i.e. has a value to show. */
  hasValue: boolean;
}

/** The global through which rewritten imports load modules (defined by the kernel process). */
export const importHelper = '__sandcastleImport';

const baseOptions: Options = { ecmaVersion: 'latest', locations: true };

/** Parses as a script (sloppy code runs as it would in `node -e`); a cell with `import`
 *  declarations only parses as a module. Of two failures, the parser that got further is right. */
function parseCell(code: string): Program {
  try {
    return parse(code, { ...baseOptions, sourceType: 'script', allowAwaitOutsideFunction: true });
  } catch (scriptErr) {
    try {
      return parse(code, { ...baseOptions, sourceType: 'module' });
    } catch (moduleErr) {
      const a = scriptErr as SyntaxError & { pos?: number; loc?: { line: number; column: number } };
      const b = moduleErr as SyntaxError & { pos?: number; loc?: { line: number; column: number } };
      const best = (b.pos ?? 0) > (a.pos ?? 0) ? b : a;
      throw new CellSyntaxError(best.message, best.loc?.line ?? 1, best.loc?.column ?? 0);
    }
  }
}

function bindingNames(pattern: Pattern, into: string[]): void {
  switch (pattern.type) {
    case 'Identifier':
      into.push(pattern.name);
      break;
    case 'ObjectPattern':
      for (const p of pattern.properties) bindingNames(p.type === 'RestElement' ? p.argument : p.value, into);
      break;
    case 'ArrayPattern':
      for (const e of pattern.elements) if (e) bindingNames(e, into);
      break;
    case 'RestElement':
      bindingNames(pattern.argument, into);
      break;
    case 'AssignmentPattern':
      bindingNames(pattern.left, into);
      break;
    default:
      break;
  }
}

/** `import d, {a as b} from 'm'` → `({default: d, a: b} = await <helper>("m"));` */
function importAssignment(node: ImportDeclaration, names: string[]): string {
  const load = `await ${importHelper}(${JSON.stringify(String(node.source.value))})`;
  let namespace: string | undefined;
  const fields: string[] = [];
  for (const s of node.specifiers) {
    names.push(s.local.name);
    if (s.type === 'ImportNamespaceSpecifier') namespace = s.local.name;
    else if (s.type === 'ImportDefaultSpecifier') fields.push(`default: ${s.local.name}`);
    else fields.push(`${s.imported.type === 'Identifier' ? s.imported.name : JSON.stringify(String(s.imported.value))}: ${s.local.name}`);
  }
  if (namespace) return `void ((${namespace} = ${load})${fields.length ? `, ({${fields.join(', ')}} = ${namespace})` : ''});`;
  return fields.length ? `({${fields.join(', ')}} = ${load});` : `${load};`;
}

interface Edit {
  at: number;
  end: number;
  text: string;
}

export function prepareJsCell(code: string): PreparedCell {
  const program = parseCell(code);
  const names: string[] = [];
  const functions: string[] = [];
  const edits: Edit[] = [];
  const insert = (at: number, text: string) => edits.push({ at, end: at, text });
  const newlinesIn = (node: Node) => '\n'.repeat((code.slice(node.start, node.end).match(/\n/g) ?? []).length);

  const declaration = (node: Statement | Declaration, exportStart?: number): void => {
    if (exportStart !== undefined) edits.push({ at: exportStart, end: node.start, text: '' });
    switch (node.type) {
      case 'VariableDeclaration': {
        const first = node.declarations[0]!;
        edits.push({ at: node.start, end: first.start, text: 'void (' });
        for (const d of node.declarations) {
          bindingNames(d.id, names);
          insert(d.start, '(');
          if (d.init) insert(d.end, ')');
          else insert(d.end, node.kind === 'var' ? ')' : ' = undefined)');
        }
        insert(node.declarations[node.declarations.length - 1]!.end, ')');
        break;
      }
      case 'ClassDeclaration':
        if (node.id) {
          names.push(node.id.name);
          insert(node.start, `${node.id.name} = `);
          insert(node.end, ';');
        }
        break;
      case 'FunctionDeclaration':
        if (node.id) {
          names.push(node.id.name);
          functions.push(node.id.name);
        }
        break;
      default:
        break;
    }
  };

  for (const statement of program.body) {
    switch (statement.type) {
      case 'ImportDeclaration':
        edits.push({ at: statement.start, end: statement.end, text: importAssignment(statement, names) + newlinesIn(statement) });
        break;
      case 'ExportNamedDeclaration':
        if (statement.declaration) declaration(statement.declaration, statement.start);
        else edits.push({ at: statement.start, end: statement.end, text: newlinesIn(statement) });
        break;
      case 'ExportDefaultDeclaration':
        edits.push({ at: statement.start, end: statement.declaration.start, text: '' });
        if (statement.declaration.type === 'FunctionDeclaration' || statement.declaration.type === 'ClassDeclaration') {
          declaration(statement.declaration as Statement);
        }
        break;
      case 'ExportAllDeclaration':
        edits.push({ at: statement.start, end: statement.end, text: newlinesIn(statement) });
        break;
      default:
        declaration(statement);
    }
  }

  const last = program.body[program.body.length - 1];
  const hasValue = last?.type === 'ExpressionStatement';
  if (last && hasValue) {
    // The statement's range, not the expression's: it includes parentheses around the expression.
    insert(last.start, 'return (');
    insert(code[last.end - 1] === ';' ? last.end - 1 : last.end, ')');
  }

  let body = code;
  // Apply from the end so earlier offsets stay valid; at one offset, later-pushed edits go first
  // (e.g. the closing parenthesis of a declarator before the one of its declaration).
  const ordered = edits.map((e, i) => ({ ...e, i })).sort((a, b) => b.at - a.at || b.i - a.i);
  for (const e of ordered) body = body.slice(0, e.at) + e.text + body.slice(e.end);

  const unique = [...new Set(names)];
  const hoisted = unique.length ? `var ${unique.join(', ')}; ` : '';
  const exported = functions.map((f) => `globalThis[${JSON.stringify(f)}] = ${f}; `).join('');
  return { script: `${hoisted}(async () => { ${exported}${body}\n})()`, hasValue };
}
