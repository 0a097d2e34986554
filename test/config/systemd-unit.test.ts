/**
 * systemd/shardtail.service is checked by systemd itself: `systemd-analyze verify` (what CI runs)
 * and `systemd-analyze security --offline=yes`, whose exposure score the README quotes. No systemd
 * runs here (nor in CI's container), so these are static checks; the unit has not been started.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const unitFile = fileURLToPath(new URL('../../systemd/shardtail.service', import.meta.url));
const builtCli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
/** Where `npm install -g` puts the bin with Node's usual /usr prefix, as the unit expects. */
const INSTALLED_BIN = '/usr/bin/shardtail';
/** The schema's default shutdownTimeoutMillis; the stop timeout must leave the drain that long. */
const DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 10;

const scratch = mkdtempSync(path.join(os.tmpdir(), 'shardtail-unit-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Analysis {
  code: number;
  stdout: string;
  stderr: string;
}

async function analyze(...args: string[]): Promise<Analysis> {
  try {
    const { stdout, stderr } = await promisify(execFile)(SYSTEMD_ANALYZE, args);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Every value of each directive (SystemCallFilter appears twice, for instance). */
function directives(text: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match === null) continue;
    found.set(match[1], [...(found.get(match[1]) ?? []), match[2]]);
  }
  return found;
}

/**
 * verify checks that ExecStart's binary exists, and the installed bin does not exist on a
 * development machine. The copy verified differs in that one line only: the same command through
 * the built dist/cli.js, which is what the installed bin links to.
 */
function unitRunningTheBuiltCli(): string {
  const original = readFileSync(unitFile, 'utf8');
  const copy = original.replace(`ExecStart=${INSTALLED_BIN} `, `ExecStart=${process.execPath} ${builtCli} `);
  assert.notEqual(copy, original, `the unit's ExecStart does not start with ${INSTALLED_BIN}`);
  const file = path.join(scratch, 'shardtail.service');
  writeFileSync(file, copy);
  return file;
}

describe('systemd/shardtail.service', { timeout: 60_000 }, () => {
  test("systemd-analyze is installed (CI installs Debian's systemd package for it)", () => {
    assert.ok(existsSync(SYSTEMD_ANALYZE), `${SYSTEMD_ANALYZE} is missing`);
  });

  test('systemd-analyze verify passes', async () => {
    assert.ok(existsSync(builtCli), 'dist/cli.js is missing: run npm run build');
    const result = await analyze('verify', unitRunningTheBuiltCli());
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr.trim(), '', 'verify printed warnings');
    // The unit as shipped: its only possible complaint is the bin not being installed here.
    const asShipped = await analyze('verify', unitFile);
    const complaints = asShipped.stderr.trim() === '' ? [] : asShipped.stderr.trim().split('\n');
    const expected = existsSync(INSTALLED_BIN)
      ? []
      : [`shardtail.service: Command ${INSTALLED_BIN} is not executable: No such file or directory`];
    assert.deepEqual(complaints, expected);
  });

  test('runs as a dynamic user reading /var/log, with only its state directory writable', () => {
    const unit = directives(readFileSync(unitFile, 'utf8'));
    const expected: Record<string, string> = {
      DynamicUser: 'yes',
      SupplementaryGroups: 'adm',
      Restart: 'on-failure',
      StateDirectory: 'shardtail',
      ConfigurationDirectory: 'shardtail',
      ExecReload: '/bin/kill -HUP $MAINPID',
      KillSignal: 'SIGTERM',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      ProtectKernelTunables: 'yes',
      ProtectKernelModules: 'yes',
      ProtectControlGroups: 'yes',
      NoNewPrivileges: 'yes',
      RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
      CapabilityBoundingSet: '',
    };
    for (const [key, value] of Object.entries(expected)) assert.deepEqual(unit.get(key), [value], key);
    assert.deepEqual(unit.get('SystemCallFilter'), ['@system-service', '~@privileged']);
    for (const key of ['ReadWritePaths', 'ReadOnlyPaths', 'InaccessiblePaths', 'MemoryDenyWriteExecute'])
      assert.equal(unit.get(key), undefined, `${key} must not be set`);
    assert.ok(Number(unit.get('LimitNOFILE')?.[0]) >= 65536, 'LimitNOFILE');
    assert.ok(Number(unit.get('TimeoutStopSec')?.[0]) > DEFAULT_SHUTDOWN_TIMEOUT_SECONDS, 'TimeoutStopSec');
  });

  test('systemd-analyze security --offline=yes: exposure at most 2.0', async (context) => {
    const result = await analyze('security', '--offline=yes', '--no-pager', unitRunningTheBuiltCli());
    assert.equal(result.code, 0, result.stderr);
    const score = /Overall exposure level for shardtail\.service: ([\d.]+) (\w+)/.exec(result.stdout);
    assert.ok(score, result.stdout);
    context.diagnostic(`systemd-analyze security exposure: ${score[1]} ${score[2]}`);
    assert.ok(Number(score[1]) <= 2.0, `exposure ${score[1]}`);
  });
});
