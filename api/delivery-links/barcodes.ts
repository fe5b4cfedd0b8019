/**
 * A card's code as a barcode and a QR code, drawn on the server as inline SVG (bwip-js): no script, no
 * image request, nothing the page's CSP must allow. Only the reveal response carries them (no-store).
 *
 * The code is money: a symbology that cannot encode it (an EAN-13 the provider named for a code with
 * letters) falls back to Code 128, and bwip-js's error, which may quote the text, is dropped unread.
 */
import bwipjs from 'bwip-js/node';
import type { BarcodeFormat } from '../../domain/provider';

const BCID: Record<BarcodeFormat, string> = {
  code128: 'code128',
  code39: 'code39',
  ean13: 'ean13',
  upca: 'upca',
  qrcode: 'qrcode',
  pdf417: 'pdf417',
  datamatrix: 'datamatrix',
};

/** Names a screen reader says for the symbology. */
export const FORMAT_NAMES: Record<BarcodeFormat, string> = {
  code128: 'Code 128',
  code39: 'Code 39',
  ean13: 'EAN-13',
  upca: 'UPC-A',
  qrcode: 'QR',
  pdf417: 'PDF417',
  datamatrix: 'Data Matrix',
};

const TWO_D: ReadonlySet<BarcodeFormat> = new Set(['qrcode', 'pdf417', 'datamatrix']);

function draw(format: BarcodeFormat, text: string): string | undefined {
  try {
    return bwipjs.toSVG({
      bcid: BCID[format],
      text,
      scale: 2,
      ...(TWO_D.has(format) ? {} : { height: 14 }),
      // The quiet zone scanners need, on white whatever the page's colours.
      paddingwidth: 10,
      paddingheight: 6,
      backgroundcolor: 'FFFFFF',
    });
  } catch {
    return undefined;
  }
}

export interface CardSymbols {
  /** The symbology drawn: the provider's when it could encode the code, else Code 128. */
  format: BarcodeFormat;
  barcode: string;
  /** A QR code too, unless the barcode is one already. */
  qr?: string;
}

/** SVG markup (bwip-js's own, trusted; never built from data but the code it encodes). */
export function cardSymbols(value: string, requested: BarcodeFormat | undefined): CardSymbols | undefined {
  const wanted = requested ?? 'code128';
  let format: BarcodeFormat = wanted;
  let barcode = draw(wanted, value);
  if (barcode === undefined && wanted !== 'code128') {
    format = 'code128';
    barcode = draw('code128', value);
  }
  if (barcode === undefined) return undefined;
  const qr = format === 'qrcode' ? undefined : draw('qrcode', value);
  return qr === undefined ? { format, barcode } : { format, barcode, qr };
}

/**
 * The svg element labelled for assistive technology (`role="img"`, its accessible name), drawn at its own
 * size (one module = 2 CSS px) with crisp edges: a barcode scaled down below a pixel per module blurs into
 * something no scanner reads. The page's CSS only lets it shrink on a screen narrower than that.
 */
export function labelledSvg(svg: string, label: string, className: string): string {
  const escaped = label.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const [, width = '', height = ''] = /viewBox="0 0 (\d+) (\d+)"/.exec(svg) ?? [];
  const size = width && height ? `width="${width}" height="${height}" ` : '';
  return svg
    .trim()
    .replace(
      /^<svg /,
      `<svg role="img" aria-label="${escaped}" class="${className}" focusable="false" shape-rendering="crispEdges" ${size}`,
    );
}
