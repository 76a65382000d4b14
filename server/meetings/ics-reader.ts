/**
 * A small, strict iCalendar reader: the other half of ics.ts, used by the
 * tests to read back what the server mails. Strict on purpose: it refuses
 * what a lenient calendar app would quietly accept (bare LF, a physical line
 * over 75 octets, a cut UTF-8 character, an unescaped `;` or `,` in text, an
 * unknown escape, unbalanced BEGIN/END), so a test that reads a file back
 * proves the file is well formed, not merely that some app would open it.
 */

export interface IcsProperty {
  name: string;
  params: Record<string, string>;
  /** The raw value (TEXT still escaped; see `unescapeText`). */
  value: string;
}

export interface IcsComponent {
  name: string;
  properties: IcsProperty[];
  components: IcsComponent[];
}

export class IcsSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IcsSyntaxError';
  }
}

const TEXT_PROPERTIES = new Set(['SUMMARY', 'DESCRIPTION', 'LOCATION', 'COMMENT']);

/** Reads a whole calendar object; throws `IcsSyntaxError` naming the first problem. */
export function readIcs(input: string | Uint8Array): IcsComponent {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new IcsSyntaxError('not valid UTF-8');
  }
  if (!text.endsWith('\r\n')) throw new IcsSyntaxError('the last line does not end with CRLF');
  const physical = text.slice(0, -2).split('\r\n');
  physical.forEach((line, i) => {
    if (/[\r\n]/.test(line)) throw new IcsSyntaxError(`line ${i + 1}: a bare CR or LF (lines end with CRLF)`);
    const octets = new TextEncoder().encode(line).length;
    if (octets > 75) throw new IcsSyntaxError(`line ${i + 1}: ${octets} octets (at most 75)`);
  });
  const logical: string[] = [];
  for (const line of physical) {
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (logical.length === 0) throw new IcsSyntaxError('the first line is a continuation');
      logical[logical.length - 1] += line.slice(1);
    } else {
      logical.push(line);
    }
  }
  const root: IcsComponent = { name: '', properties: [], components: [] };
  const stack: IcsComponent[] = [root];
  for (const line of logical) {
    const property = readLine(line);
    const top = stack.at(-1)!;
    if (property.name === 'BEGIN') {
      const component: IcsComponent = { name: property.value.toUpperCase(), properties: [], components: [] };
      top.components.push(component);
      stack.push(component);
    } else if (property.name === 'END') {
      if (stack.length === 1 || top.name !== property.value.toUpperCase()) {
        throw new IcsSyntaxError(`END:${property.value} does not close BEGIN:${top.name || '(nothing)'}`);
      }
      stack.pop();
    } else {
      if (stack.length === 1) throw new IcsSyntaxError(`${property.name} outside any component`);
      if (TEXT_PROPERTIES.has(property.name)) unescapeText(property.value);
      top.properties.push(property);
    }
  }
  if (stack.length !== 1) throw new IcsSyntaxError(`BEGIN:${stack.at(-1)!.name} is never closed`);
  if (root.components.length !== 1 || root.components[0]!.name !== 'VCALENDAR') {
    throw new IcsSyntaxError('expected exactly one VCALENDAR');
  }
  return root.components[0]!;
}

function readLine(line: string): IcsProperty {
  const name = /^[A-Za-z0-9-]+/.exec(line)?.[0];
  if (name === undefined) throw new IcsSyntaxError(`no property name in "${line}"`);
  let at = name.length;
  const params: Record<string, string> = {};
  while (line[at] === ';') {
    const paramName = /^[A-Za-z0-9-]+/.exec(line.slice(at + 1))?.[0];
    if (paramName === undefined || line[at + 1 + paramName.length] !== '=') {
      throw new IcsSyntaxError(`bad parameter in ${name}`);
    }
    at += 2 + paramName.length;
    let value: string;
    if (line[at] === '"') {
      const close = line.indexOf('"', at + 1);
      if (close < 0) throw new IcsSyntaxError(`unclosed quote in ${name};${paramName}`);
      value = line.slice(at + 1, close);
      at = close + 1;
    } else {
      const raw = /^[^";:,]*/.exec(line.slice(at))![0];
      value = raw;
      at += raw.length;
    }
    params[paramName.toUpperCase()] = decodeParam(value);
  }
  if (line[at] !== ':') throw new IcsSyntaxError(`no ":" after ${name}`);
  const value = line.slice(at + 1);
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) throw new IcsSyntaxError(`control character in ${name}`);
  }
  return { name: name.toUpperCase(), params, value };
}

/** RFC 6868: ^n line break, ^' double quote, ^^ caret. */
function decodeParam(value: string): string {
  return value.replace(/\^([n'^])/g, (_all, ch: string) => (ch === 'n' ? '\n' : ch === "'" ? '"' : '^'));
}

/** A TEXT value as written (RFC 5545 §3.3.11); throws on an unknown escape or a bare `;` or `,`. */
export function unescapeText(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === '\\') {
      const next = value[++i];
      if (next === 'n' || next === 'N') out += '\n';
      else if (next === '\\' || next === ';' || next === ',') out += next;
      else throw new IcsSyntaxError(`unknown escape \\${next ?? ''} in text`);
    } else if (ch === ';' || ch === ',') {
      throw new IcsSyntaxError(`unescaped "${ch}" in text`);
    } else {
      out += ch;
    }
  }
  return out;
}

/** The one property of that name (throws if absent or repeated). */
export function single(component: IcsComponent, name: string): IcsProperty {
  const found = component.properties.filter((p) => p.name === name);
  if (found.length !== 1) throw new IcsSyntaxError(`${component.name} has ${found.length} ${name} properties`);
  return found[0]!;
}

/** A UTC DATE-TIME (`20260330T080000Z`) as epoch ms. */
export function readUtc(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (m === null) throw new IcsSyntaxError(`"${value}" is not a UTC date-time`);
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}
