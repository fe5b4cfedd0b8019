/**
 * The identity provider's secrets, generated on its first start into one folder (mode 700, files 600) and
 * read from it afterwards: the operators' passwords, the token signing keys (private JWKs; the first signs,
 * all are published, so a rotated-out key's tokens stay verifiable until they expire) and the cookie keys.
 * `rotateSigningKey` puts a new key first: verifiers pick it up from the JWKS on the first token it signed.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { SEEDED_OPERATORS } from './operators';

export interface IdpState {
  passwords: Record<string, string>;
  signingKeys: JWK[];
  cookieKeys: string[];
}

const FILE = 'state.json';
const secret = () => randomBytes(24).toString('base64url');

async function newSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, alg: 'ES256', use: 'sig', kid: randomBytes(8).toString('hex') };
}

function write(dir: string, state: IdpState): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, FILE);
  writeFileSync(`${file}.new`, JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(`${file}.new`, file);
}

function readState(dir: string): IdpState {
  return JSON.parse(readFileSync(path.join(dir, FILE), 'utf8')) as IdpState;
}

/** The folder's state, created on the first call; an operator added to the seed list gets a password. */
export async function ensureState(dir: string): Promise<IdpState> {
  const state: IdpState = existsSync(path.join(dir, FILE))
    ? readState(dir)
    : { passwords: {}, signingKeys: [await newSigningKey()], cookieKeys: [secret()] };
  let changed = !existsSync(path.join(dir, FILE));
  for (const op of SEEDED_OPERATORS) {
    if (!state.passwords[op.username]) {
      state.passwords[op.username] = secret();
      changed = true;
    }
  }
  if (changed) write(dir, state);
  return state;
}

/** A new signing key first; the previous ones stay published (`keep` of them) for their tokens' lifetime. */
export async function rotateSigningKey(dir: string, keep = 2): Promise<JWK> {
  const state = await ensureState(dir);
  const key = await newSigningKey();
  state.signingKeys = [key, ...state.signingKeys].slice(0, keep + 1);
  write(dir, state);
  return key;
}
