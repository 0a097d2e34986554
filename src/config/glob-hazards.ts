import picomatch from 'picomatch';
import { globBase, MAX_FILES_PER_FLOW } from '../discover/scan.js';

/** What the agent writes itself, which no glob may ship: it would be shipped again and again. */
export interface OwnFiles {
  /** The embedded engine's data directory, when the engine runs. */
  engineDataDir?: string;
  checkpointFile: string;
}

/** Trees of the system and of other programs: a `**` over one of them ships what is not a log. */
const SYSTEM_TREES = [
  '/',
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib64',
  '/opt',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/srv',
  '/sys',
  '/usr',
  '/var',
];

/**
 * Why a flow's filePattern is likely a mistake, one sentence each (empty when it is not): it can
 * match the agent's own state, or it walks a whole system tree. Discovery never tails the agent's
 * own files whatever the glob says; these are warnings, so that the user learns it.
 */
export function globHazards(filePattern: string, own: OwnFiles): string[] {
  // picomatch is the matcher fast-glob uses, so this agrees with what a scan would find.
  const matches = picomatch(filePattern, { dot: true });
  const hazards: string[] = [];
  if (own.engineDataDir !== undefined) {
    const samples = [`${own.engineDataDir}/records/1/490000.log`, `${own.engineDataDir}/kinesis.db`];
    if (samples.some((sample) => matches(sample))) {
      hazards.push(
        `can match the embedded engine's data directory ${own.engineDataDir} (its data files end in .log): ` +
          'files there are never tailed, since every record shipped would be shipped again; move ' +
          'engine.dataDir out of the glob',
      );
    }
  }
  if ([own.checkpointFile, `${own.checkpointFile}-wal`].some((sample) => matches(sample))) {
    hazards.push(
      `can match the checkpoint database ${own.checkpointFile}: it is never tailed; move checkpointFile out ` +
        `of the glob`,
    );
  }
  const base = globBase(filePattern).replace(/(.)\/$/, '$1');
  if (filePattern.includes('**') && SYSTEM_TREES.includes(base)) {
    hazards.push(
      `walks all of ${base} (system files and other programs' data, not logs): narrow it to a log directory ` +
        `such as /var/log/**/*.log; ` +
        `/proc, /sys and /dev are never walked, and a flow tails at most ${MAX_FILES_PER_FLOW} files`,
    );
  }
  return hazards;
}
