#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { backfillCommand } from './commands/backfill.js';
import { checkCommand } from './commands/check.js';
import { engineCommand } from './commands/engine.js';
import { firehoseCommand } from './commands/firehose.js';
import { startCommand } from './commands/start.js';
import { statusCommand } from './commands/status.js';
import { streamCommand } from './commands/stream.js';

await yargs(hideBin(process.argv))
  .scriptName('shardtail')
  .command(startCommand)
  .command(statusCommand)
  .command(backfillCommand)
  .command(engineCommand)
  .command(checkCommand)
  .command(streamCommand)
  .command(firehoseCommand)
  .demandCommand(1, 'Name a command; see shardtail --help.')
  .strict()
  .help()
  .fail((message, error, yargsInstance) => {
    // Usage mistakes get the usage; failures inside a command get one line, not a stack trace.
    if (error === undefined) {
      yargsInstance.showHelp();
      process.stderr.write(`\n${message}\n`);
      process.exit(2);
    }
    process.stderr.write(`shardtail: ${error.message}\n`);
    process.exit(1);
  })
  .parseAsync();
