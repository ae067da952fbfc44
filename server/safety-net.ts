/**
 * The process-level safety net: an exception or promise rejection that
 * escaped every local guard is logged, and the process keeps serving.
 *
 * Every inbound frame is already handled under a guard that closes only its
 * socket (`connection.ts`); this is the last line behind those guards, so
 * that a bug nobody foresaw costs one log line rather than every user's
 * connection. The CLI installs it; an application embedding `PlumeServer`
 * decides its own process policy and may install it too.
 */
import type { Logger } from './log';

/**
 * Logs uncaught exceptions and unhandled rejections instead of exiting.
 * Returns the function that removes the handlers.
 *
 * @example
 * const remove = installSafetyNet(consoleLogger);
 */
export function installSafetyNet(log: Logger): () => void {
  const onException = (error: unknown) => log.error('uncaught exception (logged; the server keeps running):', error);
  const onRejection = (reason: unknown) => log.error('unhandled promise rejection (logged; the server keeps running):', reason);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
