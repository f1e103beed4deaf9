import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger, LOG_LEVELS, type LogLevel } from '../src/logging.js';
import { InputFileError, loadSiteFile, loadValidatedFile } from '../src/server/site-file.js';
import { startSiteServer } from '../src/server/site-server.js';
import { SiteError } from '../src/server/site-store.js';
import { runDistributionRound } from './distribution-round.js';
import { fleetMixSchema } from './fleet-mix.js';
import { renderReport } from './report.js';

const CONFIG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'config');

function positiveInteger(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number <= 0) throw new InvalidArgumentError(`${name} must be a positive whole number, got "${value}"`);
    return number;
  };
}

function positiveNumber(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${value}"`);
    return number;
  };
}

const logLevelOption = (fallback: LogLevel) => new Option('--log-level <level>', 'log verbosity (JSON lines on stderr)').choices(LOG_LEVELS).default(fallback);

const program = new Command('mlc-sim')
  .description(
    'Simulated Windows Mobile / Windows CE handhelds (the ConfigMgr Mobile Device Legacy Client) against a stub\n' +
      'Configuration Manager site: management point, distribution point and status intake on loopback HTTP.',
  )
  .showHelpAfterError();

program
  .command('run')
  .description('Run one distribution round in replay time against an embedded stub site, and print the report.')
  .option('--site <file>', 'site definition (packages, programs, collections, advertisements)', path.join(CONFIG, 'site.yaml'))
  .option('--fleet <file>', 'fleet mix the handhelds are drawn from', path.join(CONFIG, 'fleet.yaml'))
  .option('--devices <n>', 'number of handhelds', positiveInteger('--devices'), 25)
  .option('--seed <n>', 'seed: the same seed gives the same devices, events and report', positiveInteger('--seed'), 1)
  .option('--stagger-minutes <m>', 'spread the first polls over this many minutes', positiveNumber('--stagger-minutes'), 10)
  .option('--limit-hours <h>', 'report after this much simulated time even if devices are still busy', positiveNumber('--limit-hours'), 24)
  .option('--out <dir>', 'also write report.json to this directory')
  .addOption(logLevelOption('warn'))
  .addHelpText('after', '\nExample:\n  mlc-sim run --devices 500 --seed 7 --out out/\n')
  .action(async (options: { site: string; fleet: string; devices: number; seed: number; staggerMinutes: number; limitHours: number; out?: string; logLevel: LogLevel }) => {
    const { site, contentRoot } = await loadSiteFile(options.site);
    const mix = await loadValidatedFile(options.fleet, fleetMixSchema);
    const report = await runDistributionRound({
      site,
      contentRoot,
      mix,
      devices: options.devices,
      seed: options.seed,
      staggerMs: options.staggerMinutes * 60_000,
      limitMs: options.limitHours * 3_600_000,
      logger: createLogger(options.logLevel),
    });
    console.log(renderReport(report));
    if (options.out) {
      await mkdir(options.out, { recursive: true });
      await writeFile(path.join(options.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
      console.log(`\nreport written to ${path.join(options.out, 'report.json')}`);
    }
  });

program
  .command('serve')
  .description('Run the stub site server alone, in real time, until interrupted.')
  .option('--site <file>', 'site definition', path.join(CONFIG, 'site.yaml'))
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--port <port>', 'port to listen on (0 picks a free one)', (v) => (v === '0' ? 0 : positiveInteger('--port')(v)), 8080)
  .addOption(logLevelOption('info'))
  .action(async (options: { site: string; host: string; port: number; logLevel: LogLevel }) => {
    const { site, contentRoot } = await loadSiteFile(options.site);
    const server = await startSiteServer({ site, contentRoot, host: options.host, port: options.port, logger: createLogger(options.logLevel) });
    console.log(`stub site listening on ${server.url}: device management point ${server.url}/DeviceManagement, admin API ${server.url}/admin`);
    const stop = () => void server.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof InputFileError) {
    console.error(`error: ${error.message}`);
  } else if (error instanceof SiteError) {
    console.error(`error: site definition: ${error.message}`);
  } else {
    console.error(error);
  }
  process.exitCode = 2;
}
