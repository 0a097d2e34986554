import { resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import type { AgentConfig } from '../config/types.js';
import { configOption } from '../config/locate.js';
import { createLogger } from '../log.js';
import { LOG_LINE_SECONDS, showProgress } from './backfill-progress.js';
import { loadConfigOrExit } from './start.js';

interface BackfillArgs {
  config?: string;
  'log-pretty': boolean;
  'engine-data-dir'?: string;
  'give-up-after-seconds': number;
  'progress-every-seconds': number;
  flow?: string;
  files?: string;
}

/**
 * The flows a backfill runs: `--flow` picks one (by its 1-based place in agent.json or its id),
 * `--files` narrows what it reads. The flow keeps its id, so its checkpoints are the ones `start`
 * and later backfills use, and no file is shipped twice whichever glob found it.
 */
function selectFlows(config: AgentConfig, flow: string | undefined, files: string | undefined): AgentConfig {
  let flows = config.flows;
  if (flow !== undefined) {
    const byPlace = /^\d+$/.test(flow) ? flows[Number(flow) - 1] : undefined;
    const picked = byPlace ?? flows.find((candidate) => candidate.id === flow);
    if (picked === undefined) {
      const known = flows.map((candidate, i) => `${i + 1}: ${candidate.id}`).join('; ');
      throw new Error(`--flow ${flow} is none of the ${flows.length} flows (${known})`);
    }
    flows = [picked];
  }
  if (files !== undefined) flows = flows.map((picked) => ({ ...picked, filePattern: resolve(files) }));
  return { ...config, flows };
}

export const backfillCommand: CommandModule<object, BackfillArgs> = {
  command: 'backfill',
  describe:
    'Ship every matching file from its start (or checkpoint) to its end, wait for delivery, print a summary, exit',
  builder: (yargs) =>
    yargs
      .option('config', configOption)
      .option('log-pretty', { type: 'boolean', default: false, describe: 'Human-readable logs instead of JSON' })
      .option('engine-data-dir', {
        type: 'string',
        describe: 'Data directory of the embedded engine (overrides engine.dataDir)',
      })
      .option('give-up-after-seconds', {
        type: 'number',
        default: 60,
        describe: 'Stop and report failure when nothing was delivered for this long',
      })
      .option('progress-every-seconds', {
        type: 'number',
        default: LOG_LINE_SECONDS,
        describe:
          'When stderr is not a terminal: write a progress line (bytes done of total, rate, time left) this often',
      })
      .check((args) => {
        const every = args['progress-every-seconds'];
        if (!(every > 0)) throw new Error(`--progress-every-seconds: '${every}' is not a number of seconds above 0`);
        return true;
      })
      .option('flow', { type: 'string', describe: 'Only this flow: its place in agent.json (1, 2, …) or its id' })
      .option('files', {
        type: 'string',
        describe:
          "Only the files this glob matches (relative to the working directory), instead of the flow's filePattern",
      }),
  handler: async (args) => {
    const logger = createLogger({
      pretty: args['log-pretty'] || undefined,
      level: process.env.SHARDTAIL_LOG_LEVEL ?? 'warn',
    });
    const loaded = await loadConfigOrExit(args.config, logger);
    let config: AgentConfig;
    try {
      config = selectFlows(loaded.config, args.flow, args.files);
    } catch (error) {
      process.stderr.write(`shardtail backfill: ${(error as Error).message}\n`);
      process.exitCode = 1;
      return;
    }
    const { Agent } = await import('../agent/agent.js');
    const { startCloudWatchMetrics } = await import('../observe/cloudwatch-metrics.js');
    const cloudwatch = await startCloudWatchMetrics(config, logger);
    const observers = cloudwatch ? [cloudwatch.observer()] : [];
    const agent = new Agent({ config, logger, mode: 'backfill', engineDataDir: args['engine-data-dir'], observers });
    let summary;
    try {
      await agent.start();
      const endProgress = showProgress(() => agent.bytesProgress(), {
        lineEveryMs: args['progress-every-seconds'] * 1000,
      });
      try {
        summary = await agent.runToCompletion(args['give-up-after-seconds'] * 1000);
      } finally {
        endProgress();
      }
    } catch (error) {
      process.stderr.write(`shardtail backfill: ${(error as Error).message}\n`);
      await agent.stop().catch(() => undefined);
      await cloudwatch?.stop();
      process.exitCode = 1;
      return;
    }
    // After giving up, delivery has failed for give-up-after-seconds already: stop without waiting more.
    await agent.stop(summary.undeliveredFiles.length > 0 ? 0 : undefined);
    await cloudwatch?.stop();
    process.stdout.write(
      `backfill: ${summary.files} files, ${summary.records} records, ${summary.bytes} bytes in ` +
        `${summary.seconds.toFixed(3)} s (${Math.round(summary.recordsPerSecond)} records/s)` +
        (summary.recordsTruncated > 0 ? `, ${summary.recordsTruncated} records truncated` : '') +
        (summary.unsupportedFiles.length > 0
          ? `, ${summary.unsupportedFiles.length} compressed files skipped (only gzip is supported)`
          : '') +
        `, ${summary.undelivered + summary.undecompressableFiles.length} failures` +
        '\n',
    );
    if (summary.undecompressableFiles.length > 0) {
      process.stderr.write(
        `shardtail backfill: ${summary.undecompressableFiles.length} gzip files failed to decompress and were not ` +
          `shipped to their end: ${listOf(summary.undecompressableFiles)}\n`,
      );
      process.exitCode = 1;
    }
    if (summary.undelivered > 0 || summary.undeliveredFiles.length > 0) {
      process.stderr.write(
        `shardtail backfill: ${summary.undelivered} records were not delivered (nothing acknowledged for ` +
          `${args['give-up-after-seconds']} s); ` +
          `a rerun resumes from the checkpoints. Not fully delivered (${summary.undeliveredFiles.length} files): ` +
          `${listOf(summary.undeliveredFiles)}\n`,
      );
      process.exitCode = 1;
    }
    logger.flush();
  },
};

/** The first files of a list, for a message that stays readable with thousands. */
function listOf(files: string[]): string {
  return `${files.slice(0, 20).join(', ')}${files.length > 20 ? ', …' : ''}`;
}
