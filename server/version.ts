/**
 * The package's version, as `plume --version` prints it and logs carry it.
 * `version.test.ts` keeps it equal to package.json's.
 */
export const VERSION = '0.2.0';
