// The ROCA fingerprint, against published vectors and against keys built the way the vulnerable
// Infineon library builds them.
import { checkPrimeSync, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assessPublicKey } from '../../../pki/key-quality.js';
import {
  ROCA_GENERATOR,
  ROCA_GENERATOR_ORDER,
  ROCA_MODULUS,
  ROCA_PRIMES,
  hasRocaFingerprint,
} from '../../../pki/roca.js';

// Public test vectors of the detector published with the paper (github.com/crocs-muni/roca,
// roca/tests/data): mod03.txt and pubkey03.pem are moduli from affected devices ("positive
// samples"), mod04.txt is a negative sample. These are public keys, not secrets.
const VULNERABLE_MODULUS = BigInt(
  '0x9dcd7420e420c270a68060eb8b5aa7457a9f6648f86fafed2775cc1f79ae962f1e63f1b9e51c55f9ea6fdc7332e9b0058c9ff2eb1fc89855029cf6aafe21e689feb38ac9ffb12f1ce371bb5d0e9aae64161abce74b4244bf68f1edb4411f756a097c8929c14740245ea355f8332d1aa36bb50c7dcb4505da8de02e4e53d38f8df06097da7524df0df93db48eac8cc4af2d3a16257eb2b2adca6ba464e5974fa92550d31b1babf161e7692d00b86e3dd886ecab4abfbe1a8f8cc263ff4af55cdb45f4249a5193925f5e983d762f0b6800943eb0267b08f42ed311ce1f5c86eacbc8ce4d3cb7a2fee1ef5641423a1cf4114e5ecf50034a60a412523af9e6f4aa11',
);
const VULNERABLE_SPKI_PEM = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEBqcWmh9uPsqMPgt/43aFU
wpHvJ7BLJeGFuKsgxMal9gSFn+We3lSgr3wOcoiACtcZO7cxpb8eEXDXocZpMNQe
o+sh3t97ivXUKpHDT3IEW5bv1XyxgjAd3MJpZ+VQjpq4iZhtV+g33+cPmfw3xJj0
PBfDubBkz3BEQ9egM+A6ghaXqr8w+ynufTOzdnllqJBY47OXVL06HAB9KKI7DPp5
+dcRrG5MS093sGNLHs1oWRrwPH1TtipfLZEWPU70+PJoMa5GHthexfeIxRI//BLI
dCD9z+odG0pSw1IYJPs5mDSHObYqmG2OdrIom8Lri8BtE4FHhRuDoHGD0hBVn5Bj
IQIDAQAB
-----END PUBLIC KEY-----`;
const CLEAN_MODULUS = BigInt(
  '0xaf659676197f1db06da7ac111a0a0ec175b8b7ef07192ffcd1f6b854c327785f1a7fd3db7da45cd4a31b2b2e5ce0d823a68e28c8adf1747316becce1fe5768064039ad2062260c8d1a34e0586dce9bc13090fcc9fb8b8b2c08ed3ae8d61b29818a669689a7d9c1dab053b557fb8d3f9c44faad3e18c55e739b00d3c9126558bc8e980cd2af377126ef5b1374136774b8bd370e3c1c149db395c8f99696b628b105946fea20106fe24d103ac062661a9248e8c3f628e00b308d33953aabe555132e218e74ef4b578716b4fe7cf340e8e604a319bf6e9951e1942601d34291032db54999d09e5d036dde3544ad35256bbb97d5e3fffd38166c21eae9199548853b',
);
// From the same suite's "fake moduli": each residue mod every small prime lies in <65537>, but the
// discrete logarithms disagree, so the full (discrete-log) test must not flag it.
const FAKE_MODULUS =
  72414128973967872688332736535017614208620368242015797102796086827882754006260204061799547004983731426777596445658889886861027045033760014948048067467947960318205453778973975867532910489227970143091184725760290172935872752222320334100097730483600892686353719855397381316384244147860260153198611313067061116317n;

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  for (b %= m; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}

const randomBig = (bits: number) =>
  BigInt(`0x${randomBytes(Math.ceil(bits / 8)).toString('hex')}`) >> BigInt((8 - (bits % 8)) % 8);

/**
 * A prime of the vulnerable form p = k·M + (65537^a mod M), M the primorial of 2..167, with its
 * top two bits set so that two of them make a modulus of exactly 2·bits bits.
 */
function infineonStylePrime(bits: number): bigint {
  const m = 2n * ROCA_MODULUS;
  for (;;) {
    const a = randomBig(62) % ROCA_GENERATOR_ORDER;
    const target = (3n << BigInt(bits - 2)) + randomBig(bits - 2);
    const p = (target / m) * m + modPow(ROCA_GENERATOR, a, m);
    if (p >> BigInt(bits - 2) === 3n && checkPrimeSync(p)) return p;
  }
}

/** The per-prime test alone: weaker, kept here to show what the full test adds. */
function perPrimeTest(n: bigint): boolean {
  return ROCA_PRIMES.every((p) => {
    const g = Number(ROCA_GENERATOR % BigInt(p));
    const members = new Set<number>();
    let x = 1;
    do {
      members.add(x);
      x = (x * g) % p;
    } while (x !== 1);
    return members.has(Number(n % BigInt(p)));
  });
}

describe('ROCA constants', () => {
  it('derive the published primorial and generator order', () => {
    expect(ROCA_PRIMES).toHaveLength(38);
    expect(2n * ROCA_MODULUS).toBe(962947420735983927056946215901134429196419130606213075415963491270n);
    expect(ROCA_GENERATOR_ORDER).toBe(2454106387091158800n);
  });
});

describe('hasRocaFingerprint', () => {
  it('flags the published vulnerable moduli', () => {
    expect(hasRocaFingerprint(VULNERABLE_MODULUS)).toBe(true);
    const jwk = createPublicKey(VULNERABLE_SPKI_PEM).export({ format: 'jwk' });
    expect(hasRocaFingerprint(BigInt(`0x${Buffer.from(jwk.n!, 'base64url').toString('hex')}`))).toBe(true);
  });

  it('does not flag the published negative sample', () => {
    expect(hasRocaFingerprint(CLEAN_MODULUS)).toBe(false);
  });

  it('does not flag a modulus that passes every per-prime test but has no common discrete log', () => {
    expect(perPrimeTest(FAKE_MODULUS)).toBe(true);
    expect(hasRocaFingerprint(FAKE_MODULUS)).toBe(false);
  });

  it('flags 2048-bit moduli built from primes of the Infineon form', () => {
    for (let i = 0; i < 3; i++) {
      const n = infineonStylePrime(1024) * infineonStylePrime(1024);
      expect(n.toString(2)).toHaveLength(2048);
      expect(hasRocaFingerprint(n)).toBe(true);
    }
  });

  it('does not flag keys generated by OpenSSL, nor trivial values', () => {
    for (let i = 0; i < 5; i++) {
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const jwk = publicKey.export({ format: 'jwk' });
      expect(hasRocaFingerprint(BigInt(`0x${Buffer.from(jwk.n!, 'base64url').toString('hex')}`))).toBe(false);
    }
    for (const n of [0n, 1n, 2n, 3n, 65537n * 3n]) expect(hasRocaFingerprint(n)).toBe(false);
  });
});

describe('the key gate', () => {
  it('refuses a vulnerable RSA key as too weak, with the reason', () => {
    const spki = createPublicKey(VULNERABLE_SPKI_PEM).export({ type: 'spki', format: 'der' });
    expect(() => assessPublicKey(spki)).toThrow(
      expect.objectContaining({ code: 'CSR_KEY_TOO_WEAK', details: { reason: 'ROCA' } }),
    );
  });

  it('refuses a constructed Infineon-style RSA-2048 key', () => {
    const n = infineonStylePrime(1024) * infineonStylePrime(1024);
    const key = createPublicKey({
      key: {
        kty: 'RSA',
        n: Buffer.from(n.toString(16).padStart(512, '0'), 'hex').toString('base64url'),
        e: 'AQAB',
      },
      format: 'jwk',
    });
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(() => assessPublicKey(key)).toThrow(
      expect.objectContaining({ code: 'CSR_KEY_TOO_WEAK', details: { reason: 'ROCA' } }),
    );
  });
});
