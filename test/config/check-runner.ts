// Runs `check` the way the shardtail CLI will once it is wired in, for the child-process tests:
//   node --import tsx test/config/check-runner.ts check -c FILE
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { checkCommand } from '../../src/commands/check.js';

await yargs(hideBin(process.argv)).scriptName('shardtail').command(checkCommand).demandCommand(1).strict().parseAsync();
