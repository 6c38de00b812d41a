// Parses Corefile tokens into server blocks of directives, expanding snippets and imported files.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, basename, join, isAbsolute } from 'node:path';
import { CorefileError, freshLineKey, tokenize, type Token } from './lexer.js';

export interface Directive {
  name: string;
  args: string[];
  file: string;
  line: number;
  // Sub-directives of a `name args { ... }` block, or null when there is no block.
  block: Directive[] | null;
}

export interface ServerBlock {
  keys: string[];
  file: string;
  line: number;
  directives: Directive[];
}

export interface ParseOptions {
  env?: NodeJS.ProcessEnv;
  readFile?: (path: string) => string;
  listDir?: (path: string) => string[];
}

// Bounds import expansion so a snippet or file that imports itself is reported instead of looping.
const MAX_IMPORTS = 1000;

export function parseCorefile(text: string, file = 'Corefile', options: ParseOptions = {}): ServerBlock[] {
  const env = options.env ?? process.env;
  const readFile = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const listDir = options.listDir ?? ((p: string) => readdirSync(p));
  const snippets = new Map<string, Token[]>();
  const tokens = tokenize(text, file, env);
  const blocks: ServerBlock[] = [];
  let pos = 0;

  const errorAt = (t: Token | undefined, message: string): CorefileError =>
    new CorefileError(t?.file ?? file, t?.line ?? lastLine(tokens), message);

  // Copies tokens with fresh line keys so an imported copy never merges with its neighbours.
  const rekey = (source: Token[]): Token[] => {
    const keys = new Map<number, number>();
    return source.map((t) => {
      let key = keys.get(t.lineKey);
      if (key === undefined) {
        key = freshLineKey();
        keys.set(t.lineKey, key);
      }
      return { ...t, lineKey: key };
    });
  };

  let imports = 0;
  const importTokens = (at: Token, target: string): Token[] => {
    if (++imports > MAX_IMPORTS) throw errorAt(at, `more than ${MAX_IMPORTS} imports: '${target}' imports itself`);
    const snippet = snippets.get(target);
    if (snippet) return rekey(snippet);
    const base = isAbsolute(target) ? target : join(dirname(at.file), target);
    let paths: string[];
    if (basename(base).includes('*')) {
      const pattern = new RegExp('^' + basename(base).split('*').map(escapeRegExp).join('.*') + '$');
      let entries: string[];
      try {
        entries = listDir(dirname(base));
      } catch {
        entries = [];
      }
      paths = entries.filter((e) => pattern.test(e)).sort().map((e) => join(dirname(base), e));
    } else {
      paths = [base];
    }
    const imported: Token[] = [];
    for (const path of paths) {
      let content: string;
      try {
        content = readFile(path);
      } catch (err) {
        throw errorAt(at, `import '${target}': no snippet of that name and the file cannot be read (${(err as Error).message})`);
      }
      imported.push(...tokenize(content, path, env));
    }
    return imported;
  };

  // Replaces the `import X` line at tokens[i] with what it names.
  const expandImport = (i: number): void => {
    const at = tokens[i];
    const args = sameLine(tokens, i);
    if (args.length !== 1) throw errorAt(at, 'import takes exactly one argument: a snippet name or a file path');
    const replacement = importTokens(at, args[0].text);
    tokens.splice(i, 2, ...replacement);
  };

  const parseDirectives = (): Directive[] => {
    const directives: Directive[] = [];
    for (;;) {
      const t = tokens[pos];
      if (!t) throw errorAt(tokens[pos - 1], "unexpected end of file: missing '}'");
      if (t.text === '}' && !t.quoted) {
        pos++;
        return directives;
      }
      if (t.text === '{' && !t.quoted) throw errorAt(t, "unexpected '{'");
      if (t.text === 'import' && !t.quoted) {
        expandImport(pos);
        continue;
      }
      const args: string[] = [];
      pos++;
      let block: Directive[] | null = null;
      while (pos < tokens.length && tokens[pos].lineKey === t.lineKey) {
        const a = tokens[pos];
        if (!a.quoted && a.text === '}') break;
        if (!a.quoted && a.text === '{') {
          pos++;
          block = parseDirectives();
          break;
        }
        args.push(a.text);
        pos++;
      }
      directives.push({ name: t.text, args, file: t.file, line: t.line, block });
    }
  };

  while (pos < tokens.length) {
    const t = tokens[pos];
    if (t.text === 'import' && !t.quoted) {
      expandImport(pos);
      continue;
    }
    if (/^\(.+\)$/.test(t.text) && !t.quoted) {
      const name = t.text.slice(1, -1);
      const open = tokens[pos + 1];
      if (!open || open.text !== '{') throw errorAt(t, `snippet ${t.text} must be followed by '{'`);
      let level = 1;
      let end = pos + 2;
      for (; end < tokens.length && level > 0; end++) {
        if (tokens[end].quoted) continue;
        if (tokens[end].text === '{') level++;
        else if (tokens[end].text === '}') level--;
      }
      if (level !== 0) throw errorAt(t, `snippet ${t.text} is missing its closing '}'`);
      snippets.set(name, tokens.slice(pos + 2, end - 1));
      pos = end;
      continue;
    }
    const keys: string[] = [];
    const first = t;
    while (pos < tokens.length && !(tokens[pos].text === '{' && !tokens[pos].quoted)) {
      const k = tokens[pos];
      if (k.text === '}' && !k.quoted) throw errorAt(k, "unexpected '}'");
      if (k.lineKey !== first.lineKey) throw errorAt(k, `expected '{' after the server block keys '${keys.join(' ')}'`);
      for (const part of k.text.split(',')) if (part) keys.push(part);
      pos++;
    }
    if (pos >= tokens.length) throw errorAt(first, `expected '{' after the server block keys '${keys.join(' ')}'`);
    pos++;
    const directives = parseDirectives();
    blocks.push({ keys, file: first.file, line: first.line, directives });
  }
  return blocks;
}

function sameLine(tokens: Token[], i: number): Token[] {
  const out: Token[] = [];
  for (let j = i + 1; j < tokens.length && tokens[j].lineKey === tokens[i].lineKey; j++) out.push(tokens[j]);
  return out;
}

function lastLine(tokens: Token[]): number {
  return tokens.length ? tokens[tokens.length - 1].line : 1;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
