// Finding a reference in free text (a bank's remittance line: "REF inv123456 THANK YOU") and writing it in one
// normalised spelling (`INV-123456`), so that a rule can match on it. Compiled once per definition; a pattern that
// does not compile, or an output naming a capture group the pattern does not have, is refused when the definition is
// parsed (definition.ts calls extractProblem), never half-way through a run.

export interface RegexExtract {
  pattern: string;
  /** RegExp flags among i, m, s, u (g and y are the engine's business: `match` says first or all). */
  flags: string;
  /**
   * The value written: `$1`..`$99` and `$<name>` insert capture groups (an unmatched optional group inserts
   * nothing), `$&` the whole match, `$$` a dollar sign. Default: the first capture group, or the whole match when
   * the pattern has none.
   */
  output?: string;
  case: 'keep' | 'upper' | 'lower';
  /** `first`: the first match; `all`: every match in order, duplicates dropped, joined by `separator`. */
  match: 'first' | 'all';
  separator: string;
}

type Part = string | number | { name: string };

interface Compiled {
  re: RegExp;
  parts: Part[];
}

const TOKEN = /\$(\$|&|<([^>]*)>|(\d{1,2}))/g;

function compile(x: Pick<RegexExtract, 'pattern' | 'flags' | 'output' | 'match'>): Compiled | string {
  let re: RegExp;
  try {
    re = new RegExp(x.pattern, x.flags + (x.match === 'all' ? 'g' : ''));
  } catch (e) {
    return `the pattern does not compile: ${(e as Error).message}`;
  }
  // The number of capture groups and their names, from a match of the pattern with an empty alternative.
  const probe = new RegExp(`${x.pattern}|`, x.flags).exec('') as RegExpExecArray;
  const groups = probe.length - 1;
  const names = new Set(Object.keys(probe.groups ?? {}));
  const output = x.output ?? (groups > 0 ? '$1' : '$&');
  const parts: Part[] = [];
  let last = 0;
  for (const m of output.matchAll(TOKEN)) {
    if (m.index > last) parts.push(output.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1] === '$') parts.push('$');
    else if (m[1] === '&') parts.push(0);
    else if (m[2] !== undefined) {
      if (!names.has(m[2])) return `the output names a capture group <${m[2]}> the pattern does not have`;
      parts.push({ name: m[2] });
    } else {
      const n = Number(m[3]);
      if (n < 1 || n > groups)
        return `the output uses $${m[3]} but the pattern has ${groups} capture group${groups === 1 ? '' : 's'}`;
      parts.push(n);
    }
  }
  if (last < output.length) parts.push(output.slice(last));
  return { re, parts };
}

/** What is wrong with an extract's pattern or output, or undefined when it compiles. */
export function extractProblem(x: Pick<RegexExtract, 'pattern' | 'flags' | 'output' | 'match'>): string | undefined {
  const c = compile(x);
  return typeof c === 'string' ? c : undefined;
}

/** The extractor of a valid definition: the normalised reference(s) in a text, or undefined when nothing matches. */
export function compileExtract(x: RegexExtract): (text: string) => string | undefined {
  const c = compile(x);
  if (typeof c === 'string') throw new Error(c);
  const { re, parts } = c;
  const render = (m: RegExpExecArray | RegExpMatchArray): string => {
    let out = '';
    for (const p of parts)
      out += typeof p === 'string' ? p : typeof p === 'number' ? (m[p] ?? '') : (m.groups?.[p.name] ?? '');
    return x.case === 'upper' ? out.toUpperCase() : x.case === 'lower' ? out.toLowerCase() : out;
  };
  if (x.match === 'first')
    return (text) => {
      const m = re.exec(text);
      return m === null ? undefined : render(m);
    };
  return (text) => {
    const seen = new Set<string>();
    for (const m of text.matchAll(re)) {
      // An empty match would loop on the same position; matchAll advances past it, and it adds nothing.
      if (m[0] !== '') seen.add(render(m));
    }
    return seen.size === 0 ? undefined : [...seen].join(x.separator);
  };
}
