#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { backfillCommand } from './commands/backfill.js';
import { checkCommand } from './commands/check.js';
import { engineCommand } from './commands/engine.js';
import { startCommand } from './commands/start.js';
import { streamCommand } from './commands/stream.js';

await yargs(hideBin(process.argv))
  .scriptName('shardtail')
  .command(startCommand)
  .command(backfillCommand)
  .command(engineCommand)
  .command(checkCommand)
  .command(streamCommand)
  .demandCommand(1, 'Name a command; see shardtail --help.')
  .strict()
  .help()
  .parseAsync();
