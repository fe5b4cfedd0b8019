/**
 * A brand's logo (BRANDS.<caller>.logo: a file), read and checked once at start-up, then drawn on the
 * customer's pages as a `data:` image (the CSP allows `img-src data:` and nothing else: no request, no
 * third party) and attached to the emails by Content-ID (no remote image).
 *
 * PNG or JPEG only. An SVG is a document, not a picture: it can carry script, styles and references to
 * other resources, which an `<img>` ignores but a mail client that shows attachments, or a customer who
 * opens the attachment, may not; and the major mail clients do not draw SVG at all. The type is read from
 * the file's first bytes and must agree with its name, so a renamed HTML or SVG file is refused.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** Big enough for a crisp header logo; every page carries it inline, so it must stay small. */
export const LOGO_MAX_BYTES = 64 * 1024;
/** Pixels on the longer side; more is wasted on a 40-pixel-high header. */
const LOGO_MAX_PIXELS = 2048;

export interface Logo {
  contentType: 'image/png' | 'image/jpeg';
  bytes: Buffer;
  width: number;
  height: number;
  /** What a page's `<img src>` holds. */
  dataUri: string;
  /** The Content-ID an email's `<img src="cid:…">` names: stable for the same file. */
  cid: string;
  /** The attachment's file name. */
  filename: string;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a PNG's IHDR, the chunk the format requires first. */
function pngSize(b: Buffer): { width: number; height: number } | undefined {
  if (b.length < 24 || !b.subarray(0, 8).equals(PNG_SIGNATURE)) return undefined;
  if (b.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** Width and height from a JPEG's first start-of-frame segment (SOF0-15 but DHT, JPG, DAC). */
function jpegSize(b: Buffer): { width: number; height: number } | undefined {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8 || b[2] !== 0xff) return undefined;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    const length = b.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    }
    if (marker === 0xda || length < 2) return undefined; // image data before any frame header
    i += 2 + length;
  }
  return undefined;
}

const TYPES = {
  'image/png': { extensions: ['.png'], size: pngSize },
  'image/jpeg': { extensions: ['.jpg', '.jpeg'], size: jpegSize },
} as const;

/** Reads and checks a logo file; an error says what is wrong with it, never its content. */
export function loadLogo(file: string): Logo {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.svg' || ext === '.svgz') {
    throw new Error('an SVG logo is refused (it is a document that can carry script): use PNG or JPEG');
  }
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new Error('not a file');
    size = stat.size;
  } catch {
    throw new Error(`${file} is not a readable file`);
  }
  if (size > LOGO_MAX_BYTES) throw new Error(`${file} is ${size} bytes; at most ${LOGO_MAX_BYTES}`);
  const bytes = readFileSync(file);
  for (const [contentType, type] of Object.entries(TYPES) as Array<
    [Logo['contentType'], (typeof TYPES)[keyof typeof TYPES]]
  >) {
    const dims = type.size(bytes);
    if (!dims) continue;
    if (!(type.extensions as readonly string[]).includes(ext)) {
      throw new Error(`${file} holds ${contentType} but is named ${ext || 'without an extension'}`);
    }
    const { width, height } = dims;
    if (width < 1 || height < 1 || width > LOGO_MAX_PIXELS || height > LOGO_MAX_PIXELS) {
      throw new Error(`${file} is ${width}×${height} pixels; each side 1 to ${LOGO_MAX_PIXELS}`);
    }
    const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    return {
      contentType,
      bytes,
      width,
      height,
      dataUri: `data:${contentType};base64,${bytes.toString('base64')}`,
      cid: `logo-${digest}@giftcards`,
      filename: `logo${type.extensions[0]}`,
    };
  }
  throw new Error(`${file} is not a PNG or JPEG image`);
}
