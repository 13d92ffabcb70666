import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateAuthority } from '../../pki/authority.js';
import { cliActor, type CommandSpec } from '../cli-kit.js';
import { INITIALIZED_KEY, openContext, readConfig } from '../context.js';
import { createUser } from './user.js';

export const FIRST_ADMIN = 'admin';

export const init: CommandSpec = {
  name: 'init',
  summary:
    'Initialise the hub: master key, root and issuing CA, server certificates, first admin. Safe to re-run.',
  usage: 'init [--json]',
  options: {},
  details: [
    'Creates the data dir (VITALGATE_DATA_DIR, default ./.vitalgate). Running it again keeps the',
    'existing CA and keys; it only re-issues the server certificate when the configured host changed.',
    "The first admin's one-time password is printed once; it must be changed at first login.",
  ],
  async run(args, io) {
    const config = readConfig(args, io.env);
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const ctx = openContext(config, { create: true });
    try {
      const actor = cliActor();
      const { authority, created } = await CertificateAuthority.initialize(
        { store: ctx.store, keyring: ctx.keyring, config },
        actor,
      );
      const admin =
        ctx.store.users.count() === 0 ? await createUser(ctx.store, FIRST_ADMIN, 'admin', actor) : null;
      if (ctx.store.meta.get(INITIALIZED_KEY) === undefined) {
        ctx.store.meta.set(INITIALIZED_KEY, new Date().toISOString());
        ctx.store.audit.append({
          actor,
          action: 'hub.init',
          outcome: 'success',
          details: { dataDir: config.dataDir },
        });
      }
      const caFile = join(config.dataDir, 'ca.pem');
      writeFileSync(caFile, authority.caBundlePem(), { mode: 0o644 });
      if (args.values.json) {
        io.json({
          created,
          dataDir: config.dataDir,
          admin,
          caCertificate: authority.rootPem,
          caBundleFile: caFile,
          masterKey: ctx.masterKey.origin === 'env' ? 'VITALGATE_MASTER_KEY' : ctx.masterKey.origin,
        });
        return;
      }
      io.out(
        created
          ? `hub initialised in ${config.dataDir}`
          : `hub in ${config.dataDir} already initialised (CA kept)`,
      );
      io.out(`CA bundle for devices and browsers: ${caFile}`);
      if (ctx.masterKey.origin !== 'env') {
        io.out(
          `master key: ${ctx.masterKey.origin} (keep a copy offline; set VITALGATE_MASTER_KEY to keep it apart from the data)`,
        );
      }
      if (admin) {
        io.out(`first admin: ${admin.username}`);
        io.out(`one-time password (shown once, change it at first login): ${admin.oneTimePassword}`);
      }
    } finally {
      ctx.close();
    }
  },
};
