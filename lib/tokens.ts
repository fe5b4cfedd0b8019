import { createHash, randomBytes } from 'node:crypto';

/** 256 bits from the OS CSPRNG, URL-safe: the secret part of a delivery link. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Only this hash is stored; a token is looked up by hashing what the holder presents. */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Shape check before any lookup: 32 bytes in base64url is exactly 43 characters. */
export function looksLikeToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(token);
}
