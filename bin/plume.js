#!/usr/bin/env node
// `npx plume serve --port 4000`: the server command of the installed package (server/cli.ts, built).
import '../dist/cli.js';
