/**
 * Just enough RFC 822 / MIME reading for tests to assert what a recipient
 * would see: headers (with RFC 2047 encoded words decoded), and the text and
 * HTML bodies through multipart nesting, quoted-printable and base64.
 * Not a general mail parser: no attachments, no charsets beyond what
 * TextDecoder knows.
 */

export interface ParsedMail {
  /** Lower-cased header name → decoded values, in order. */
  headers: Map<string, string[]>;
  subject: string;
  from: string;
  /** Addresses from the To header, angle brackets and display names removed. */
  to: string[];
  messageId: string;
  /** The text/plain body with line endings as \n; null when there is none. */
  text: string | null;
  html: string | null;
}

interface Part {
  headers: Map<string, string[]>;
  body: Buffer;
}

export function parseMail(raw: string | Buffer): ParsedMail {
  const root = splitPart(typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw);
  const bodies = { text: null as string | null, html: null as string | null };
  collectBodies(root, bodies);
  const header = (name: string): string => root.headers.get(name)?.[0] ?? '';
  return {
    headers: root.headers,
    subject: header('subject'),
    from: header('from'),
    to: header('to')
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== '')
      .map((a) => /<([^>]+)>/.exec(a)?.[1] ?? a),
    messageId: header('message-id'),
    text: bodies.text,
    html: bodies.html,
  };
}

function splitPart(raw: Buffer): Part {
  const latin = raw.toString('latin1');
  const match = /\r?\n\r?\n/.exec(latin);
  const headerText = match === null ? latin : latin.slice(0, match.index);
  const bodyStart = match === null ? latin.length : match.index + match[0].length;
  const headers = new Map<string, string[]>();
  // Unfold: a line starting with white space continues the previous header.
  for (const line of headerText.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = decodeWords(Buffer.from(line.slice(colon + 1).trim(), 'latin1').toString('utf8'));
    headers.set(name, [...(headers.get(name) ?? []), value]);
  }
  return { headers, body: raw.subarray(Buffer.byteLength(latin.slice(0, bodyStart), 'latin1')) };
}

function contentType(part: Part): { type: string; params: Record<string, string> } {
  const [type = 'text/plain', ...rest] = (part.headers.get('content-type')?.[0] ?? 'text/plain').split(';');
  const params: Record<string, string> = {};
  for (const param of rest) {
    const eq = param.indexOf('=');
    if (eq > 0)
      params[param.slice(0, eq).trim().toLowerCase()] = param
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, '');
  }
  return { type: type.trim().toLowerCase(), params };
}

function collectBodies(part: Part, into: { text: string | null; html: string | null }): void {
  const { type, params } = contentType(part);
  if (type.startsWith('multipart/') && params['boundary'] !== undefined) {
    const delimiter = `--${params['boundary']}`;
    const sections = part.body.toString('latin1').split(delimiter).slice(1);
    for (const section of sections) {
      if (section.startsWith('--')) break;
      collectBodies(splitPart(Buffer.from(section.replace(/^\r?\n/, '').replace(/\r?\n$/, ''), 'latin1')), into);
    }
    return;
  }
  if (type !== 'text/plain' && type !== 'text/html') return;
  const encoding = (part.headers.get('content-transfer-encoding')?.[0] ?? '7bit').toLowerCase();
  const bytes =
    encoding === 'base64'
      ? Buffer.from(part.body.toString('latin1').replace(/\s+/g, ''), 'base64')
      : encoding === 'quoted-printable'
        ? decodeQuotedPrintable(part.body.toString('latin1'))
        : part.body;
  const decoded = new TextDecoder(params['charset'] ?? 'utf-8').decode(bytes).replace(/\r\n/g, '\n');
  if (type === 'text/plain') into.text ??= decoded;
  else into.html ??= decoded;
}

function decodeQuotedPrintable(value: string): Buffer {
  const unwrapped = value.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < unwrapped.length; i++) {
    const hex = unwrapped.slice(i + 1, i + 3);
    if (unwrapped[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(unwrapped.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** RFC 2047 encoded words (`=?UTF-8?Q?...?=`, `=?UTF-8?B?...?=`); white space between two of them is dropped. */
function decodeWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_all, charset: string, kind: string, text: string) => {
      const bytes =
        kind.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : decodeQuotedPrintable(text.replace(/_/g, ' '));
      return new TextDecoder(charset).decode(bytes);
    });
}
