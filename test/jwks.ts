/**
 * Keys and a JWK Set server for token tests: key pairs for RS256, ES256 and
 * EdDSA with their public PEM and JWK, a signer, and a JWK Set served over
 * HTTP on port 0 whose keys a test replaces, takes down or holds back.
 * Closed after each test.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createServer, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, type JWTPayload } from 'jose';
import { afterEach } from 'vitest';

/** A key pair as the generation encoded it (a generated KeyObject is never exported: see server/mesh/signer.ts on Node 20). */
export interface Pair {
  alg: 'RS256' | 'ES256' | 'EdDSA';
  publicPem: string;
  publicJwk: JsonWebKey;
  privateKey: KeyObject;
}

/** A fresh key pair for `alg`. */
export function keyPair(alg: Pair['alg']): Pair {
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  const generated: { publicKey: string; privateKey: string } = alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding, privateKeyEncoding })
    : alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding, privateKeyEncoding })
    : generateKeyPairSync('ed25519', { publicKeyEncoding, privateKeyEncoding });
  // A KeyObject read from PEM text is not tied to the generation job, so exporting it is safe.
  const publicJwk = createPublicKey(generated.publicKey).export({ format: 'jwk' });
  return { alg, publicPem: generated.publicKey, publicJwk, privateKey: createPrivateKey(generated.privateKey) };
}

/**
 * Signs `claims` with a pair's private key, with `iat` now (or `nowSec`) and a one-hour `exp` unless given.
 * @example await signWith(keyPair('EdDSA'), { sub: 'u1' }, { kid: 'k1' })
 */
export function signWith(key: Pair, claims: JWTPayload, header: Record<string, unknown> = {}, nowSec = Math.floor(Date.now() / 1000)): Promise<string> {
  return new SignJWT({ iat: nowSec, exp: nowSec + 3600, ...claims }).setProtectedHeader({ alg: key.alg, ...header }).sign(key.privateKey);
}

/** A running JWK Set. */
export interface JwksServer {
  url: string;
  /** Replaces the keys served. */
  serve(keys: object[]): void;
  /** How many times the set was fetched. */
  fetches(): number;
  /** Answers 503 from now on. */
  down(): void;
  /** Holds every answer until the returned function is called. */
  hold(): () => void;
}

/** Returns a function that starts a JWK Set server; each is closed after the test. */
export function useJwksServers(): () => Promise<JwksServer> {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => {
      s.close(resolve);
      s.closeAllConnections();
    })));
  });
  return async () => {
    let keys: object[] = [];
    let fetches = 0;
    let up = true;
    let held: ServerResponse[] | null = null;
    const answer = (res: ServerResponse) => {
      if (!up) return void res.writeHead(503).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    };
    const server = createServer((_req, res) => {
      fetches++;
      if (held) held.push(res);
      else answer(res);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/jwks.json`,
      serve: (next) => (keys = next),
      fetches: () => fetches,
      down: () => (up = false),
      hold: () => {
        held = [];
        return () => {
          const waiting = held ?? [];
          held = null;
          for (const res of waiting) answer(res);
        };
      },
    };
  };
}
