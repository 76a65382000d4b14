/**
 * A throw-away self-signed certificate for loopback TLS tests (valid for
 * `localhost` and 127.0.0.1, one day), made with the openssl command line.
 * Node cannot issue X.509 certificates itself; when openssl is missing,
 * `reason` says so and the suite skips.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type SelfSignedCertificate = { key: string; cert: string; reason: null } | { reason: string };

export function selfSignedCertificate(): SelfSignedCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'megilance-tls-'));
  try {
    execFileSync(
      process.env['MEGILANCE_OPENSSL'] ?? 'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'pipe' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      reason: null,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { reason: `could not make a test certificate with openssl (${message}); set MEGILANCE_OPENSSL` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
