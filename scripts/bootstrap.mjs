#!/usr/bin/env node
// Makes a fresh clone runnable: installs npm dependencies when they are missing or older than
// the lockfile, and the Debian packages the hub and its tests use (InfluxDB 1.x, Mosquitto
// clients, OpenSSL, Chromium for the console's browser tests) when they are missing and we are
// root. Then it builds the web console (console/dist). Plain Node, no dependencies: it runs
// before `npm ci` has.
//
//   node scripts/bootstrap.mjs            # what the tests need
//   node scripts/bootstrap.mjs --runtime  # what `vitalgate start` needs
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const runtimeOnly = process.argv.includes('--runtime');

function say(line) {
  process.stderr.write(`bootstrap: ${line}\n`);
}

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function ensureNodeModules() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  say('installing npm dependencies (npm ci; the first run builds better-sqlite3, about 2 minutes)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}

function ensureDebianPackages() {
  const wanted = [['influxd', 'influxdb']];
  if (!runtimeOnly) {
    wanted.push(
      ['influx', 'influxdb-client'],
      ['mosquitto_pub', 'mosquitto-clients'],
      ['mosquitto', 'mosquitto'],
      ['openssl', 'openssl'],
      ['chromium', 'chromium'],
      ['pdftotext', 'poppler-utils'],
    );
  }
  if (runtimeOnly && process.env.VITALGATE_INFLUX_URL) wanted.length = 0;
  const missing = wanted.filter(([cmd]) => !onPath(cmd)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !onPath('apt-get')) {
    say(
      `missing ${missing.join(', ')}: install them (Debian/Ubuntu: sudo apt-get install -y ${missing.join(' ')})`,
    );
    say('or point the hub at an existing InfluxDB 1.x with VITALGATE_INFLUX_URL');
    process.exit(2);
  }
  say(`installing ${missing.join(', ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env,
  });
}

function buildConsole() {
  // The web console the hub serves (console/dist), built from console/ with esbuild.
  execFileSync(process.execPath, [join(root, 'scripts', 'build-console.mjs')], {
    cwd: root,
    stdio: 'inherit',
  });
}

ensureDebianPackages();
ensureNodeModules();
buildConsole();
