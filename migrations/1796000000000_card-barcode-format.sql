-- Up Migration

-- The symbology the provider named for a card (domain/provider.ts BARCODE_FORMATS), for the reveal page's
-- barcode: a cashier's scanner expects it. Not secret, so in clear beside the card's ciphertext; null when
-- the provider named none (the page draws Code 128). The reveal reads it with to_jsonb(c), so an API
-- deployed before this migration still shows Code 128, and the collect step writes the column only for a
-- poll that brings a format, so a worker deployed before it stores format-less cards as it always did.
ALTER TABLE cards ADD COLUMN IF NOT EXISTS barcode_format text
  CHECK (barcode_format IN ('code128', 'code39', 'ean13', 'upca', 'qrcode', 'pdf417', 'datamatrix'));

-- Down Migration

ALTER TABLE cards DROP COLUMN IF EXISTS barcode_format;
