// Splits Corefile text into tokens the way CoreDNS's (Caddy's) lexer does: whitespace separates
// tokens, double quotes group, '#' starts a comment, and braces are tokens of their own when they
// stand alone. Environment references {$NAME} and {%NAME%} are substituted in every token.

export interface Token {
  text: string;
  file: string;
  line: number;
  // Tokens of one source line share a lineKey; imports re-key their tokens so two copies of a
  // one-line snippet never merge into one directive.
  lineKey: number;
  quoted: boolean;
}

let nextLineKey = 1;

export function freshLineKey(): number {
  return nextLineKey++;
}

export class CorefileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line} - Error during parsing: ${message}`);
  }
}

const ENV_REFERENCE = /\{\$([A-Za-z_][A-Za-z0-9_]*)\}|\{%([A-Za-z_][A-Za-z0-9_]*)%\}/g;

export function substituteEnv(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(ENV_REFERENCE, (_m, a: string | undefined, b: string | undefined) => env[(a ?? b) as string] ?? '');
}

export function tokenize(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Token[] {
  const tokens: Token[] = [];
  const lineKeys = new Map<number, number>();
  const keyOf = (line: number): number => {
    let key = lineKeys.get(line);
    if (key === undefined) {
      key = freshLineKey();
      lineKeys.set(line, key);
    }
    return key;
  };
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    const startLine = line;
    if (c === '"') {
      let value = '';
      i++;
      let closed = false;
      while (i < n) {
        const d = text[i];
        if (d === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) {
          value += text[i + 1];
          i += 2;
          continue;
        }
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\n') line++;
        value += d;
        i++;
      }
      if (!closed) throw new CorefileError(file, startLine, 'unterminated quoted string');
      tokens.push({ text: substituteEnv(value, env), file, line: startLine, lineKey: keyOf(startLine), quoted: true });
      continue;
    }
    let value = '';
    while (i < n) {
      const d = text[i];
      if (d === ' ' || d === '\t' || d === '\r' || d === '\n') break;
      // An environment reference contains braces that are part of the token, not blocks.
      if (d === '{' && (text[i + 1] === '$' || text[i + 1] === '%')) {
        const close = text.indexOf('}', i);
        if (close > 0) {
          value += text.slice(i, close + 1);
          i = close + 1;
          continue;
        }
      }
      value += d;
      i++;
    }
    tokens.push({ text: substituteEnv(value, env), file, line: startLine, lineKey: keyOf(startLine), quoted: false });
  }
  return tokens;
}
