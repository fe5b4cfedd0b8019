/**
 * The text a PDF reader extracts from a pdfkit document, the way readers do it: each font's codes mapped
 * through its ToUnicode CMap (embedded fonts) or its WinAnsi encoding (the standard fonts). One line per
 * text object (BT … ET). Small on purpose: it reads pdfkit's output, not every PDF (no PDF reader is among
 * the dependencies; a library such as pdfjs-dist would replace it).
 */
import { inflateSync } from 'node:zlib';

interface PdfObject {
  dict: string;
  stream?: Buffer;
}

function objects(pdf: Buffer): Map<number, PdfObject> {
  const text = pdf.toString('latin1');
  const found = new Map<number, PdfObject>();
  // A stream is read by its /Length, never by searching for "endstream": a compressed font's bytes may
  // spell "endobj" or "3 0 obj" anywhere (and which bytes they are depends on the text set in it).
  const header = /(\d+) 0 obj\s*/g;
  for (let m = header.exec(text); m; m = header.exec(text)) {
    const start = header.lastIndex;
    const end = text.indexOf('endobj', start);
    const streamAt = text.indexOf('stream', start);
    if (streamAt < 0 || (end >= 0 && end < streamAt)) {
      found.set(Number(m[1]), { dict: text.slice(start, end) });
      header.lastIndex = end;
      continue;
    }
    const dict = text.slice(start, streamAt);
    let from = streamAt + 'stream'.length;
    if (text[from] === '\r') from++;
    if (text[from] === '\n') from++;
    const length = /\/Length\s+(\d+)(?!\s+\d+\s+R)/.exec(dict);
    const to = length ? from + Number(length[1]) : text.indexOf('endstream', from);
    const raw = pdf.subarray(from, to);
    found.set(Number(m[1]), { dict, stream: /\/FlateDecode/.test(dict) ? inflateSync(raw) : raw });
    header.lastIndex = to;
  }
  return found;
}

// A ligature's entry holds several code units (`<0066 0066>`, "ff"): the spaces go.
const utf16 = (hex: string) => Buffer.from(hex.replace(/\s+/g, ''), 'hex').swap16().toString('utf16le');

/** A ToUnicode CMap's bfchar and bfrange entries: code → text. */
function parseCmap(cmap: string): Map<number, string> {
  const map = new Map<number, string>();
  for (const block of cmap.matchAll(/beginbfchar([\s\S]*?)endbfchar/g)) {
    for (const m of block[1]!.matchAll(/<([0-9a-fA-F]+)>\s*<([0-9a-fA-F\s]+)>/g)) {
      map.set(Number.parseInt(m[1]!, 16), utf16(m[2]!));
    }
  }
  for (const block of cmap.matchAll(/beginbfrange([\s\S]*?)endbfrange/g)) {
    for (const m of block[1]!.matchAll(
      /<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*(\[[^\]]*\]|<[0-9a-fA-F\s]+>)/g,
    )) {
      const from = Number.parseInt(m[1]!, 16);
      const to = Number.parseInt(m[2]!, 16);
      const target = m[3]!;
      if (target.startsWith('[')) {
        [...target.matchAll(/<([0-9a-fA-F\s]+)>/g)].forEach((t, i) => {
          map.set(from + i, utf16(t[1]!));
        });
      } else {
        const base = Buffer.from(target.slice(1, -1), 'hex');
        for (let code = from; code <= to; code++) {
          const value = Buffer.from(base);
          value.writeUInt16BE(value.readUInt16BE(value.length - 2) + (code - from), value.length - 2);
          map.set(code, value.swap16().toString('utf16le'));
        }
      }
    }
  }
  return map;
}

export function pdfText(pdf: Buffer): string {
  const objs = objects(pdf);
  // Font resource name → how its codes become text.
  const decoders = new Map<string, (hex: string) => string>();
  for (const { dict } of objs.values()) {
    for (const m of dict.matchAll(/\/(F\d+)\s+(\d+)\s+0\s+R/g)) {
      const font = objs.get(Number(m[2]));
      const toUnicode = font?.dict.match(/\/ToUnicode\s+(\d+)\s+0\s+R/);
      if (toUnicode) {
        const cmap = parseCmap(objs.get(Number(toUnicode[1]))?.stream?.toString('latin1') ?? '');
        decoders.set(m[1]!, (hex) =>
          (hex.match(/.{4}/g) ?? []).map((code) => cmap.get(Number.parseInt(code, 16)) ?? '\uFFFD').join(''),
        );
      } else {
        decoders.set(m[1]!, (hex) => Buffer.from(hex, 'hex').toString('latin1'));
      }
    }
  }
  const lines: string[] = [];
  for (const { stream } of objs.values()) {
    const content = stream?.toString('latin1') ?? '';
    if (!/\bBT\b/.test(content)) continue;
    for (const block of content.matchAll(/\bBT\b([\s\S]*?)\bET\b/g)) {
      let decode = (hex: string) => Buffer.from(hex, 'hex').toString('latin1');
      let line = '';
      for (const op of block[1]!.matchAll(
        /\/(F\d+)\s+[\d.]+\s+Tf|\[([^\]]*)\]\s*TJ|<([0-9a-fA-F]*)>\s*Tj/g,
      )) {
        if (op[1]) decode = decoders.get(op[1]) ?? decode;
        const hexes =
          op[2] !== undefined ? [...op[2].matchAll(/<([0-9a-fA-F]*)>/g)].map((h) => h[1]!) : [op[3]];
        for (const hex of hexes) if (hex) line += decode(hex);
      }
      lines.push(line);
    }
  }
  return lines.join('\n');
}
