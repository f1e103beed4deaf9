import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { DeviceMemory } from '../src/agent/device-context.js';
import { InputFileError } from '../src/input-file.js';

/**
 * What each handheld must not forget across a simulator restart (`--state-dir`): its undelivered status outbox,
 * its message sequence (so ids stay unique), which advertisements it already handled, and its files and registry
 * (its changes over its platform's base image). Written on every change,
 * in SQLite, so a killed simulator loses nothing a device recorded.
 */
export class DeviceStateStore {
  private readonly db: Database.Database;
  private readonly upsert: Database.Statement;
  private readonly select: Database.Statement;

  constructor(dir: string) {
    makeDirectory(dir);
    this.db = new Database(path.join(dir, 'devices.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS devices (id TEXT PRIMARY KEY, memory TEXT NOT NULL) WITHOUT ROWID');
    this.upsert = this.db.prepare('INSERT INTO devices VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET memory = excluded.memory');
    this.select = this.db.prepare('SELECT memory FROM devices WHERE id = ?');
  }

  load(id: string): DeviceMemory | undefined {
    const row = this.select.get(id) as { memory: string } | undefined;
    return row && (JSON.parse(row.memory) as DeviceMemory);
  }

  save(id: string, memory: DeviceMemory): void {
    this.upsert.run(id, JSON.stringify(memory));
  }

  close(): void {
    this.db.close();
  }
}

/** The store of `--state-dir`, or an InputFileError naming the directory and why it cannot be used. */
export function openStateStore(dir: string): DeviceStateStore {
  try {
    return new DeviceStateStore(dir);
  } catch (error) {
    throw new InputFileError(dir, '--state-dir', `cannot be used: ${(error as Error).message}`);
  }
}

/** A `--state-dir` held by this process; released at the end of the run, or by the system if the process dies. */
export interface StateDirLock {
  release(): void;
}

/**
 * Locks a state directory for one process: an exclusive SQLite lock (an fcntl lock on `lock.db`), which the system
 * drops when the process ends however it ends, so a killed fleet never leaves a stale lock behind.
 */
export function lockStateDir(dir: string): StateDirLock {
  let db: Database.Database;
  try {
    makeDirectory(dir);
    db = new Database(path.join(dir, 'lock.db'), { timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (error) {
    const busy = (error as { code?: string }).code === 'SQLITE_BUSY';
    throw new InputFileError(
      dir,
      '--state-dir',
      busy ? 'in use by another mlc-sim run (one process at a time)' : `cannot be used: ${(error as Error).message}`,
    );
  }
  return { release: () => db.close() };
}

/**
 * Makes a directory and its parents. The directory itself is made without `recursive`: on a file system that
 * refuses it (procfs, say) Node's recursive mkdir retries forever instead of failing.
 */
export function makeDirectory(dir: string): void {
  mkdirSync(path.dirname(path.resolve(dir)), { recursive: true });
  try {
    mkdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
