/**
 * WebAuthn helpers for tests:
 * a software authenticator (ES256 / P-256 credentials, `none` attestation)
 * whose signature counter and flags the test chooses, so server rules
 * (clone detection, user verification, challenge binding) can be checked
 * without a browser; real-browser ceremonies use Chromium's virtual
 * authenticator (tests/e2e/passkeys.test.ts).
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

type Cbor = number | string | Uint8Array | Map<Cbor, Cbor>;

function cborHead(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
  const out = Buffer.alloc(3);
  out[0] = (major << 5) | 25;
  out.writeUInt16BE(length, 1);
  return out;
}

/** The little CBOR WebAuthn needs: small integers, text, bytes and maps. */
function cbor(value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value);
  if (typeof value === 'string') {
    const text = Buffer.from(value, 'utf8');
    return Buffer.concat([cborHead(3, text.length), text]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([cborHead(2, value.length), value]);
  return Buffer.concat([
    cborHead(5, value.size),
    ...[...value.entries()].flatMap(([key, item]) => [cbor(key), cbor(item)]),
  ]);
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest();

export const FLAG_USER_PRESENT = 0x01;
export const FLAG_USER_VERIFIED = 0x04;
const FLAG_ATTESTED_CREDENTIAL = 0x40;

export interface SoftCredential {
  /** base64url credential id. */
  id: string;
  privateKey: KeyObject;
  /** COSE_Key (EC2, ES256). */
  publicKeyCose: Buffer;
}

export function createSoftCredential(): SoftCredential {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const coseKey = new Map<Cbor, Cbor>([
    [1, 2], // kty: EC2
    [3, -7], // alg: ES256
    [-1, 1], // crv: P-256
    [-2, Buffer.from(jwk.x!, 'base64url')],
    [-3, Buffer.from(jwk.y!, 'base64url')],
  ]);
  return { id: randomBytes(32).toString('base64url'), privateKey, publicKeyCose: cbor(coseKey) };
}

function authenticatorData(rpId: string, flags: number, counter: number, attested?: Buffer): Buffer {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(counter);
  return Buffer.concat([sha256(rpId), Buffer.from([flags]), count, attested ?? Buffer.alloc(0)]);
}

function clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string, origin: string): Buffer {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), 'utf8');
}

export interface CeremonyOptions {
  origin: string;
  rpId: string;
  challenge: string;
  counter?: number;
  userVerified?: boolean;
}

/** A `RegistrationResponseJSON` for the credential, with `none` attestation. */
export function softRegistration(credential: SoftCredential, options: CeremonyOptions & { discoverable?: boolean }) {
  const idBytes = Buffer.from(credential.id, 'base64url');
  const idLength = Buffer.alloc(2);
  idLength.writeUInt16BE(idBytes.length);
  const attested = Buffer.concat([Buffer.alloc(16), idLength, idBytes, credential.publicKeyCose]);
  const flags =
    FLAG_USER_PRESENT | FLAG_ATTESTED_CREDENTIAL | (options.userVerified === false ? 0 : FLAG_USER_VERIFIED);
  const attestationObject = cbor(
    new Map<Cbor, Cbor>([
      ['fmt', 'none'],
      ['attStmt', new Map()],
      ['authData', authenticatorData(options.rpId, flags, options.counter ?? 0, attested)],
    ]),
  );
  return {
    id: credential.id,
    rawId: credential.id,
    type: 'public-key' as const,
    clientExtensionResults: { credProps: { rk: options.discoverable ?? true } },
    response: {
      clientDataJSON: clientData('webauthn.create', options.challenge, options.origin).toString('base64url'),
      attestationObject: attestationObject.toString('base64url'),
      transports: ['internal'],
    },
  };
}

/** An `AuthenticationResponseJSON` signed by the credential with the chosen counter and flags. */
export function softAssertion(credential: SoftCredential, options: CeremonyOptions & { userHandle?: string }) {
  const flags = FLAG_USER_PRESENT | (options.userVerified === false ? 0 : FLAG_USER_VERIFIED);
  const data = authenticatorData(options.rpId, flags, options.counter ?? 0);
  const client = clientData('webauthn.get', options.challenge, options.origin);
  const signature = sign('sha256', Buffer.concat([data, sha256(client)]), credential.privateKey);
  return {
    id: credential.id,
    rawId: credential.id,
    type: 'public-key' as const,
    clientExtensionResults: {},
    response: {
      clientDataJSON: client.toString('base64url'),
      authenticatorData: data.toString('base64url'),
      signature: signature.toString('base64url'),
      ...(options.userHandle === undefined ? {} : { userHandle: options.userHandle }),
    },
  };
}
