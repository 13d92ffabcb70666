// The hub's device broker alone (all identity, ACL, limit and audit checks; no intake), in its
// own process so bench/broker.ts can measure its CPU and memory. Prints its port.
//   npx tsx bench/broker-server.ts DATA_DIR
import { Registry } from 'prom-client';
import { loadConfig } from '../core/config.js';
import { silentLogger } from '../core/logger.js';
import { DeviceBroker } from '../broker/device-broker.js';
import { CertificateAuthority } from '../pki/authority.js';
import { openContext } from '../hub/context.js';

const dataDir = process.argv[2]!;
const config = loadConfig({
  env: {
    VITALGATE_DATA_DIR: dataDir,
    VITALGATE_DEVICE_MESSAGES_PER_SECOND: '100000',
    VITALGATE_DEVICE_BYTES_PER_SECOND: '100000000',
    VITALGATE_CONNECTS_PER_SOURCE_PER_MINUTE: '100000',
  },
});
const ctx = openContext(config);
const authority = await CertificateAuthority.load({ store: ctx.store, keyring: ctx.keyring, config });
const broker = new DeviceBroker({
  store: ctx.store,
  limits: config,
  tls: { ...authority.serverTls(), ca: authority.caBundlePem(), crl: authority.tlsRevocationPem() },
  registry: new Registry(),
  logger: silentLogger(),
});
const port = await broker.start({ host: '127.0.0.1', port: 0 });
console.log(port);
process.on('SIGTERM', () => void broker.stop().then(() => process.exit(0)));
