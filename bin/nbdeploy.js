#!/usr/bin/env node
import { main } from '../lib/kernel-service/cli.js';

main(process.argv.slice(2)).catch((error) => {
  console.error(`nbdeploy: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
