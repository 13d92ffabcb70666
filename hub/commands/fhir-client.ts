// `vitalgate fhir-client add|list`: SMART Backend Services clients of the FHIR server, as the
// admin's POST /api/v1/fhir-clients registers them (keys checked, scopes validated, audited as
// the CLI user). The hub need not be running; a running hub sees a new client at once.
import { readFileSync } from 'node:fs';
import { FhirClientRepository, type FhirClient } from '../../fhir/smart-clients.js';
import { cliActor, requireString, usageError, type CommandSpec, type ParsedArgs } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';

function withClients<T>(
  args: ParsedArgs,
  io: { env: NodeJS.ProcessEnv },
  fn: (c: FhirClientRepository) => Promise<T>,
) {
  const ctx = openContext(readConfig(args, io.env));
  return fn(new FhirClientRepository(ctx.store.db, ctx.store.audit, Date.now)).finally(() => ctx.close());
}

function line(c: FhirClient): string {
  return `${c.id}  ${c.name}  ${c.scopes.join(' ')}${c.demographics ? '  (demographics)' : ''}`;
}

export const fhirClientAdd: CommandSpec = {
  name: 'fhir-client add',
  summary: 'Register a SMART Backend Services client of the FHIR server (its public keys and scopes).',
  usage:
    'fhir-client add --name NAME (--jwks FILE | --public-key FILE) --scope system/Observation.rs [--scope …] [--demographics] [--json]',
  details: [
    '--jwks is a JWKS document, --public-key a PEM public key (EC P-384 for ES384, or RSA of at least',
    '2048 bits for RS384). Scopes are system/<Patient|Device|Observation|*>.<rs|r|s|read>. With',
    '--demographics the client’s Patients carry name, birth date and MRN. The client id is printed;',
    'the client signs its token requests (private_key_jwt) with that id as iss and sub.',
  ],
  options: {
    name: { type: 'string' },
    jwks: { type: 'string' },
    'public-key': { type: 'string' },
    scope: { type: 'string', multiple: true },
    demographics: { type: 'boolean' },
  },
  async run(args, io) {
    const jwks = args.values.jwks;
    const pem = args.values['public-key'];
    if ((typeof jwks === 'string') === (typeof pem === 'string')) {
      throw usageError('give the client’s keys with exactly one of --jwks FILE or --public-key FILE');
    }
    const file = String(jwks ?? pem);
    let publicKeys: string;
    try {
      publicKeys = readFileSync(file, 'utf8');
    } catch {
      throw usageError(`cannot read the key file ${file}`);
    }
    const scopes = Array.isArray(args.values.scope) ? args.values.scope.map(String) : [];
    if (scopes.length === 0) throw usageError('give at least one --scope, such as system/Observation.rs');
    const client = await withClients(args, io, (clients) =>
      clients.register(
        {
          name: requireString(args, 'name'),
          publicKeys,
          scopes,
          demographics: args.values.demographics === true,
        },
        cliActor(),
      ),
    );
    if (args.values.json)
      io.json({ id: client.id, name: client.name, scopes: client.scopes, demographics: client.demographics });
    else io.out(`FHIR client ${client.id} registered: ${client.scopes.join(' ')}`);
  },
};

export const fhirClientList: CommandSpec = {
  name: 'fhir-client list',
  summary: 'List the registered FHIR system clients.',
  usage: 'fhir-client list [--json]',
  options: {},
  async run(args, io) {
    const list = await withClients(args, io, async (clients) => clients.list());
    if (args.values.json)
      io.json(list.map((c) => ({ id: c.id, name: c.name, scopes: c.scopes, demographics: c.demographics })));
    else for (const c of list) io.out(line(c));
  },
};
