/**
 * Which log format the `plume` command writes: `pretty` (the `[plume] …`
 * lines people read in a terminal) or `json` (one object per line, for log
 * collectors). Chosen by `--log-format`, else `PLUME_LOG_FORMAT`, else
 * `pretty` when stdout is a terminal and `json` when it is not (a
 * container, systemd, a pipe).
 */
import { consoleLogger, type Logger } from '../log';
import { jsonLogger, LOG_LEVELS, type LogLevel } from './json';

export type LogFormat = 'pretty' | 'json';

/**
 * @example resolveLogFormat(undefined, undefined, process.stdout.isTTY) // 'pretty' in a terminal
 */
export function resolveLogFormat(flag: string | undefined, env: string | undefined, isTty: boolean): LogFormat {
  const given = flag ?? (env || undefined);
  if (given === undefined) return isTty ? 'pretty' : 'json';
  if (given !== 'pretty' && given !== 'json') throw new Error(`--log-format / PLUME_LOG_FORMAT must be "pretty" or "json", got "${given}"`);
  return given;
}

/** `--log-level` / `PLUME_LOG_LEVEL`: `debug`, `info` (default), `warn` or `error`. */
export function resolveLogLevel(flag: string | undefined, env: string | undefined): LogLevel {
  const given = flag ?? (env || 'info');
  if (!(LOG_LEVELS as readonly string[]).includes(given)) throw new Error(`--log-level / PLUME_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${given}"`);
  return given as LogLevel;
}

/** The console logger, keeping only `level` and above. */
export function prettyLogger(level: LogLevel): Logger {
  const at = LOG_LEVELS.indexOf(level);
  const quiet = () => {};
  return {
    debug: at <= 0 ? (message, ...details) => console.log(`[plume] ${message}`, ...details) : quiet,
    info: at <= 1 ? consoleLogger.info : quiet,
    warn: at <= 2 ? consoleLogger.warn : quiet,
    error: consoleLogger.error,
  };
}

/**
 * The logger for a format and level.
 * @example const log = await createLogger('json', 'info', 'node-a');
 */
export function createLogger(format: LogFormat, level: LogLevel, node?: string): Promise<Logger> {
  return format === 'json' ? jsonLogger({ level, node }) : Promise.resolve(prettyLogger(level));
}
