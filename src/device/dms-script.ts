/**
 * The device-management script engine (`dmscript.exe`, reference §7.2): `.dms` files, batch-like, run line by line
 * with `%variables%`, `:labels`, `if`/`elseif`/`else`/`endif`, `goto`, `onerror`, and the documented file system,
 * registry, schedule, scripting and system commands. Parsing refuses a script it cannot run (an unknown command, an
 * unbalanced `if`, a `goto` to no label) before anything runs, naming the line. Running is synchronous and pure:
 * what touches the device goes through a ScriptHost, and time passes only in the programs the host runs. Where the
 * script stops (done, quit, abort, an error, a reboot to continue after, or its time budget) is its result.
 */
import { DEVICE_FAILURE, DeviceError } from './device-error.js';
import { parseAttributes, textOf } from './file-system.js';
import { formatRegFile, parseRegFile } from './registry.js';
import type { DeviceSession } from './device-state.js';

export interface ScriptLine {
  /** 1-based, in the file. */
  number: number;
  command: string;
  /** The text after the command, variables not yet expanded. */
  rest: string;
}

export interface Script {
  file: string;
  lines: readonly ScriptLine[];
  /** Lower-cased label → index in `lines` of the line after it. */
  labels: Readonly<Record<string, number>>;
}

/** A task `scheduletask` asked for: a report of a file, or an extra poll. */
export interface ScheduledTask {
  kind: 'report' | 'poll';
  start: string;
  interval: string;
  file?: string;
}

/** Where a script stands: enough to continue it after a reboot. Plain data. */
export interface ScriptPosition {
  /** Index in `lines` of the next line to run. */
  next: number;
  variables: Readonly<Record<string, string>>;
  onError: string | null;
  /** Open `if` blocks, innermost last: whether a branch was taken, and whether the current one runs. */
  blocks: readonly { taken: boolean; running: boolean }[];
}

export type ScriptEnd =
  | { kind: 'completed' }
  | { kind: 'quit' }
  | { kind: 'aborted'; line: number }
  | { kind: 'failed'; line: number; error: DeviceError }
  | { kind: 'reboot'; resume: ScriptPosition }
  | { kind: 'timedOut'; line: number };

export interface ScriptResult {
  end: ScriptEnd;
  elapsedMs: number;
  scheduled: ScheduledTask[];
  echoed: string[];
}

/** What a script needs from the device it runs on. */
export interface ScriptHost {
  session: DeviceSession;
  /** The bytes of a file on the device, if the device holds them; undefined when the file is not there. */
  readFile(path: string): Buffer | undefined;
  writeFile(path: string, data: Buffer): void;
  /** Runs a command line to its end: its exit code and how long it took. Failures to start it are DeviceErrors. */
  run(commandLine: string): { exitCode: number; durationMs: number };
  /** Starts a command line and returns at once. */
  start(commandLine: string): void;
  /** The device's clock at the start of the script. */
  startedAt: number;
}

const COMMANDS = new Set([
  'if',
  'elseif',
  'else',
  'endif',
  'set',
  'copy',
  'createdir',
  'delete',
  'rename',
  'setattrs',
  'loadreg',
  'savereg',
  'scheduletask',
  'abort',
  'echo',
  'goto',
  'onerror',
  'quit',
  'reboot',
  'run',
  'runasync',
]);

/** More lines than this in one run is a loop that never passes time: the script fails rather than spin. */
const MAX_STEPS = 100_000;

const scriptError = (file: string, line: number, reason: string) => new DeviceError(DEVICE_FAILURE.scriptError, `${file} line ${line}: ${reason}`);

export function parseScript(text: string, file: string): Script {
  const lines: ScriptLine[] = [];
  const labels: Record<string, number> = {};
  let depth = 0;
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const number = index + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#') || /^rem(\s|$)/i.test(line)) continue;
    if (line.startsWith(':')) {
      const label = line.slice(1).trim().toLowerCase();
      if (label === '') throw scriptError(file, number, 'a label needs a name');
      if (label in labels) throw scriptError(file, number, `label :${label} is defined twice`);
      labels[label] = lines.length;
      continue;
    }
    const command = line.split(/\s+/)[0] ?? '';
    const name = command.toLowerCase();
    if (!COMMANDS.has(name)) throw scriptError(file, number, `unknown command "${command}"`);
    if (name === 'if') depth++;
    if ((name === 'elseif' || name === 'else' || name === 'endif') && depth === 0) throw scriptError(file, number, `${name} without an if`);
    if (name === 'endif') depth--;
    lines.push({ number, command: name, rest: line.slice(command.length).trim() });
  }
  if (depth > 0) throw scriptError(file, lines.at(-1)?.number ?? 1, `${depth} if block(s) without endif`);
  for (const line of lines) {
    if ((line.command === 'goto' || line.command === 'onerror') && line.rest !== '' && !(line.rest.toLowerCase() in labels)) {
      throw scriptError(file, line.number, `no label :${line.rest}`);
    }
  }
  return { file, lines, labels };
}

/** Splits arguments on blanks; double quotes group (and are removed), `""` is an empty argument. */
export function splitArguments(text: string): string[] {
  return [...text.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
}

export const START: ScriptPosition = Object.freeze({ next: 0, variables: Object.freeze({}), onError: null, blocks: Object.freeze([]) });

/** Runs a script from a position (the start, or after a reboot) until it ends or passes its time budget. */
export function runScript(script: Script, host: ScriptHost, budgetMs: number, from: ScriptPosition = START): ScriptResult {
  const variables = new Map(Object.entries(from.variables));
  const blocks = from.blocks.map((b) => ({ ...b }));
  let onError = from.onError;
  let next = from.next;
  let elapsedMs = 0;
  const scheduled: ScheduledTask[] = [];
  const echoed: string[] = [];
  const result = (end: ScriptEnd): ScriptResult => ({ end, elapsedMs, scheduled, echoed });
  const running = () => blocks.every((b) => b.running);
  const expand = (text: string) => text.replace(/%([^%\s]+)%/g, (whole, name: string) => variables.get(name.toLowerCase()) ?? whole);

  for (let steps = 0; next < script.lines.length; steps++) {
    const line = script.lines[next];
    if (!line) break;
    next++;
    if (steps >= MAX_STEPS)
      return result({
        kind: 'failed',
        line: line.number,
        error: scriptError(script.file, line.number, `more than ${MAX_STEPS} commands: a loop that never ends`),
      });
    const fail = (reason: string): never => {
      throw scriptError(script.file, line.number, reason);
    };
    try {
      // Block structure is followed even on lines that do not run.
      if (line.command === 'if') {
        const outer = running();
        const holds = outer && condition(expand(line.rest), host, fail);
        blocks.push({ taken: holds, running: holds });
        continue;
      }
      if (line.command === 'elseif' || line.command === 'else') {
        const taken = blocks.pop()?.taken ?? false;
        const outer = running();
        const holds = outer && !taken && (line.command === 'else' || condition(expand(line.rest), host, fail));
        blocks.push({ taken: taken || holds, running: holds });
        continue;
      }
      if (line.command === 'endif') {
        blocks.pop();
        continue;
      }
      if (!running()) continue;
      const args = splitArguments(expand(line.rest));
      const arg = (index: number, what: string) => args[index] ?? fail(`${line.command} needs ${what}`);
      const { files, registry } = host.session;
      switch (line.command) {
        case 'set': {
          const name = arg(0, 'a variable name').toLowerCase();
          if (name.length > 1023) fail('a variable name is at most 1023 characters');
          if (args.length > 1) variables.set(name, args.slice(1).join(' '));
          else variables.delete(name);
          break;
        }
        case 'copy':
          files.copy(arg(0, 'a source path'), arg(1, 'a destination path'));
          break;
        case 'createdir':
          files.createDirectory(arg(0, 'a path'));
          break;
        case 'delete':
          files.delete(arg(0, 'a path'));
          break;
        case 'rename':
          files.rename(arg(0, 'a source path'), arg(1, 'a destination path'));
          break;
        case 'setattrs':
          files.setAttributes(arg(0, 'a path'), parseAttributes(args.slice(1).join('') || fail('setattrs needs attributes')));
          break;
        case 'loadreg': {
          const path = arg(0, 'a .reg file');
          const bytes = host.readFile(path);
          if (!bytes) throw new DeviceError(DEVICE_FAILURE.registryImportFailed, `${path} does not exist`);
          registry.import(parseRegFile(textOf(bytes), path));
          break;
        }
        case 'savereg': {
          // Not documented: `savereg <.reg file> <key>` writes the key and its subkeys (mlc-sim's choice).
          host.writeFile(arg(0, 'a .reg file'), Buffer.from(formatRegFile(registry.subtree(arg(1, 'a registry key'))), 'utf8'));
          break;
        }
        case 'scheduletask':
          scheduled.push(scheduleTask(args, fail));
          break;
        case 'abort':
          return result({ kind: 'aborted', line: line.number });
        case 'quit':
          return result({ kind: 'quit' });
        case 'echo':
          echoed.push(args.join(' '));
          break;
        case 'goto':
          // A jump leaves every open if block (labels stand outside them, as in a batch file).
          next = script.labels[arg(0, 'a label').toLowerCase()] ?? next;
          blocks.length = 0;
          break;
        case 'onerror':
          onError = args[0]?.toLowerCase() ?? null;
          break;
        case 'reboot':
          return result({ kind: 'reboot', resume: { next, variables: Object.fromEntries(variables), onError, blocks } });
        case 'run': {
          const run = host.run(expand(line.rest));
          elapsedMs += run.durationMs;
          if (elapsedMs > budgetMs) return result({ kind: 'timedOut', line: line.number });
          if (run.exitCode !== 0)
            throw new DeviceError(DEVICE_FAILURE.programFailed, `${script.file} line ${line.number}: ${expand(line.rest)} exited with ${run.exitCode}`);
          break;
        }
        case 'runasync':
          host.start(expand(line.rest));
          break;
      }
    } catch (error) {
      if (!(error instanceof DeviceError)) throw error;
      if (onError === null) return result({ kind: 'failed', line: line.number, error: withLine(error, script.file, line.number) });
      next = script.labels[onError] ?? next;
      blocks.length = 0;
    }
  }
  return result({ kind: 'completed' });
}

/** A device error from a command, naming the script line it came from. */
function withLine(error: DeviceError, file: string, line: number): DeviceError {
  return error.message.startsWith(`${file} line `) ? error : new DeviceError(error.reason, `${file} line ${line}: ${error.message}`);
}

const DATE = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:\s+(\d{1,2}):(\d{1,2}):(\d{1,2}))?$/;

const INTERVAL = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

function scheduleTask(args: string[], fail: (reason: string) => never): ScheduledTask {
  const [kind = '', reserved1, start = '', interval = '', reserved2, file = ''] = args;
  if (kind !== 'report' && kind !== 'poll') return fail('scheduletask takes report or poll');
  if (reserved1 !== '' || reserved2 !== '') fail('scheduletask: the 2nd and 5th parameters are reserved and must be ""');
  if (!DATE.test(start)) fail('scheduletask: the start must be YYYY-M-D h:m:s');
  if (!INTERVAL.test(interval)) fail('scheduletask: the interval must be YYYY-MM-DD hh:mm:ss, e.g. 0000-00-07 00:00:00');
  if (kind === 'report' && file === '') fail('scheduletask report needs the file to report');
  return { kind, start, interval, ...(kind === 'report' && { file }) };
}

const OPERATORS = ['==', '!=', '<=', '>=', '<', '>', 'contains'] as const;
type Operator = (typeof OPERATORS)[number];

/** `if <type> A op B`, with `` `pkginstalled Name` `` as an operand. */
function condition(text: string, host: ScriptHost, fail: (reason: string) => never): boolean {
  const withSubCommands = text.replace(/`\s*pkginstalled\s+([^`]+)`/gi, (_, name: string) =>
    host.session.registry.value(`HKLM\\Software\\Apps\\${name.trim().replace(/^"|"$/g, '')}`, 'Instl')?.data === '1' ? 'TRUE' : 'FALSE',
  );
  const [type = '', ...rest] = splitArguments(withSubCommands);
  const opIndex = rest.findIndex((t) => (OPERATORS as readonly string[]).includes(t.toLowerCase()));
  const op = (rest[opIndex]?.toLowerCase() ?? fail(`if needs an operator (${OPERATORS.join(' ')})`)) as Operator;
  const left = rest.slice(0, opIndex).join(' ');
  const right = rest.slice(opIndex + 1).join(' ');
  switch (type.toLowerCase()) {
    case 'boolean': {
      if (op !== '==' && op !== '!=') fail('booleans compare with == or !=');
      const equal = booleanOf(left, fail) === booleanOf(right, fail);
      return op === '==' ? equal : !equal;
    }
    case 'number':
      return compare(numberOf(left, fail), numberOf(right, fail), op, fail);
    case 'version':
      return compare(versionOrder(left, right, fail), 0, op, fail);
    case 'datetime':
      return compare(dateOf(left, host.startedAt, fail), dateOf(right, host.startedAt, fail), op, fail);
    case 'string':
      if (op === 'contains') return left.includes(right);
      return compare(left < right ? -1 : left > right ? 1 : 0, 0, op, fail);
    default:
      return fail(`if needs a type (boolean, datetime, number, string, version), not "${type}"`);
  }
}

function compare(a: number, b: number, op: Operator, fail: (reason: string) => never): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case 'contains':
      return fail('contains compares strings only');
  }
}

function booleanOf(text: string, fail: (reason: string) => never): boolean {
  const t = text.toUpperCase();
  if (['TRUE', 'ON', 'YES', '1'].includes(t)) return true;
  if (['FALSE', 'OFF', 'NO', '0'].includes(t)) return false;
  return fail(`"${text}" is not a boolean (TRUE/ON/YES/1, FALSE/OFF/NO/0)`);
}

function numberOf(text: string, fail: (reason: string) => never): number {
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : fail(`"${text}" is not a number`);
}

/** -1, 0 or 1: dotted versions compared part by part, numerically. */
function versionOrder(a: string, b: string, fail: (reason: string) => never): number {
  const parts = (v: string) => (/^\d+(\.\d+)*$/.test(v) ? v.split('.').map(Number) : fail(`"${v}" is not a version`));
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** A date `YYYY-M-D h:m:s`, or a keyword: the start of that day, week (Sunday), month or year, in UTC. */
function dateOf(text: string, now: number, fail: (reason: string) => never): number {
  const match = DATE.exec(text);
  if (match) {
    const [, y, mo, d, h = '0', mi = '0', s = '0'] = match;
    return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  }
  const today = new Date(now);
  const [y, m, d, wd] = [today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate(), today.getUTCDay()];
  const keywords: Record<string, number> = {
    yesterday: Date.UTC(y, m, d - 1),
    today: Date.UTC(y, m, d),
    tomorrow: Date.UTC(y, m, d + 1),
    lastweek: Date.UTC(y, m, d - wd - 7),
    thisweek: Date.UTC(y, m, d - wd),
    nextweek: Date.UTC(y, m, d - wd + 7),
    lastmonth: Date.UTC(y, m - 1, 1),
    thismonth: Date.UTC(y, m, 1),
    nextmonth: Date.UTC(y, m + 1, 1),
    lastyear: Date.UTC(y - 1, 0, 1),
    thisyear: Date.UTC(y, 0, 1),
    nextyear: Date.UTC(y + 1, 0, 1),
  };
  return keywords[text.toLowerCase()] ?? fail(`"${text}" is not a date (YYYY-M-D h:m:s, or today, thisweek, nextmonth, ...)`);
}
