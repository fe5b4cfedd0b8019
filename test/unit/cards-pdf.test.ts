/** The PDF download in the customer's language: Japanese labels in Noto Sans JP, codes that still read. */
import { describe, expect, it } from 'vitest';
import { cardsPdf } from '../../api/delivery-links/pages';
import { contextFor } from '../../api/http/customer-page';
import { DEFAULT_BRAND } from '../../domain/brand';
import { pdfText } from '../helpers/pdf-text';

const cards = [
  { value: 'ABCD-EFGH-2345', serial: 'SN-0001' },
  { value: 'WXYZ-9876-QRST', serial: 'SN-0002' },
];

describe('the PDF download', () => {
  it('writes Japanese labels in Japanese, and the codes as text a reader extracts', async () => {
    const pdf = await cardsPdf(contextFor('ja', DEFAULT_BRAND), 'ord-ja', cards);
    const text = pdfText(pdf);
    expect(text).toContain('ご注文 ord-ja のギフトカード');
    expect(text).toContain('ギフトカード 1');
    expect(text).toContain('ギフトカード 2');
    expect(text).toContain('コード: ');
    expect(text).toContain('シリアル番号: ');
    expect(text).toContain('このファイルは他人に見せないでください');
    for (const card of cards) {
      expect(text).toContain(card.value);
      expect(text).toContain(card.serial);
    }
    // The font is embedded as a subset, not the whole 5 MB face.
    expect(pdf.toString('latin1')).toMatch(/\/BaseFont \/[A-Z]{6}\+NotoSansJP/);
    expect(pdf.length).toBeLessThan(200_000);
    expect(pdf.toString('latin1')).toContain('/Lang (ja)');
  });

  it('keeps the standard fonts for Latin languages, and embeds no font', async () => {
    const pdf = await cardsPdf(contextFor('fr', DEFAULT_BRAND), 'ord-fr', cards);
    const text = pdfText(pdf);
    expect(text).toContain('Carte cadeau 1');
    expect(text).toContain(cards[0]!.value);
    expect(pdf.toString('latin1')).not.toMatch(/NotoSansJP|FontFile/);
  });

  it('writes a brand name in a script the standard fonts lack, instead of question marks', async () => {
    const brand = { ...DEFAULT_BRAND, displayName: '東京ギフト' };
    const text = pdfText(await cardsPdf(contextFor('en', brand), 'ord-en', cards));
    expect(text).toContain('東京ギフト');
    expect(text).toContain('Gift card 1');
    expect(text).not.toContain('?');
  });
});
