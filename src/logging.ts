import winston from 'winston';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type Logger = winston.Logger;

/**
 * The one root logger of a process. Structured (JSON lines on stderr, so reports on stdout stay clean) and quiet by
 * default: at fleet scale only warnings and errors are worth a line. Devices log through `logger.child({ device })`.
 */
export function createLogger(level: LogLevel = 'warn'): Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: [...LOG_LEVELS] })],
  });
}

/** An error as a log field: what `String()` makes of it, so an Error reads `Name: message`. */
export function errorText(error: unknown): string {
  return String(error);
}

/** A logger that drops everything: for tests, and for devices when the fleet is silent. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true });
}
