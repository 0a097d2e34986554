import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * The AWS CLI v2 from Debian. A bare `aws` on PATH may be v1 (or a pyenv shim), whose flags and
 * output differ, so the tests insist on this path and fail (not skip) without it.
 */
export const AWS_CLI = '/usr/bin/aws';

export const AWS_ENV: Record<string, string> = {
  AWS_ACCESS_KEY_ID: 'x',
  AWS_SECRET_ACCESS_KEY: 'x',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_PAGER: '',
};

export interface AwsCliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Parsed stdout; undefined when stdout is empty. */
  json: any;
  argv: string[];
}

function baseEnv(): Record<string, string> {
  // Nothing from the developer's own AWS setup may leak in (profiles, SSO, a different region).
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('AWS_')) env[name] = value;
  }
  return { ...env, ...AWS_ENV, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
}

export function assertAwsCliInstalled(): void {
  assert.ok(
    existsSync(AWS_CLI),
    `${AWS_CLI} is missing: these tests need the AWS CLI v2 from Debian; run \`apt-get install awscli\` (CI ` +
      `installs it)`,
  );
}

/** Runs `aws <args> --endpoint-url <endpoint> --output json`; never rejects, the exit code is in the result. */
export function awsRaw(endpoint: string, args: string[], timeoutMs = 60_000): Promise<AwsCliResult> {
  const argv = [...args, '--endpoint-url', endpoint, '--output', 'json'];
  return new Promise((resolve, reject) => {
    execFile(
      AWS_CLI,
      argv,
      { env: baseEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof (error as NodeJS.ErrnoException).code === 'string') {
          reject(new Error(`could not run ${AWS_CLI} ${argv.join(' ')}: ${error.message}`));
          return;
        }
        const code = error ? ((error as { code?: number }).code ?? 1) : 0;
        let json: any;
        if (stdout.trim().length > 0) {
          try {
            json = JSON.parse(stdout);
          } catch {
            json = undefined;
          }
        }
        resolve({ code, stdout, stderr, json, argv });
      },
    );
  });
}

/** `aws kinesis <args>` that must succeed; returns the parsed JSON output ({} when there is none). */
export async function awsKinesis(endpoint: string, ...args: string[]): Promise<any> {
  const result = await awsRaw(endpoint, ['kinesis', ...args]);
  assert.equal(
    result.code,
    0,
    `aws ${result.argv.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
  );
  if (result.stdout.trim().length > 0)
    assert.notEqual(result.json, undefined, `aws ${result.argv.join(' ')} printed non-JSON: ${result.stdout}`);
  return result.json ?? {};
}

/** `aws kinesis <args>` that must fail with a service error (exit 254) naming `errorCode`. */
export async function awsKinesisFails(endpoint: string, errorCode: string, ...args: string[]): Promise<AwsCliResult> {
  const result = await awsRaw(endpoint, ['kinesis', ...args]);
  assert.equal(
    result.code,
    254,
    `aws ${result.argv.join(' ')} should fail with a service error (exit 254), exited ${result.code}\nstdout: ` +
      `${result.stdout}\nstderr: ${result.stderr}`,
  );
  assert.match(result.stderr, new RegExp(`\\(${errorCode}\\)`), `stderr should name ${errorCode}: ${result.stderr}`);
  return result;
}

/** `aws --version`, e.g. "aws-cli/2.9.19 Python/3.11.2 ..." (v2 prints it on stdout, v1 on stderr). */
export function awsVersion(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(AWS_CLI, ['--version'], { env: baseEnv(), timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${AWS_CLI} --version failed: ${error.message}`));
      else resolve((stdout + stderr).trim());
    });
  });
}
