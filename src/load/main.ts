/** `npm run loadtest -- ...`: the load kit's entry point (the CLI wires `xrelay load` to runLoadCommand). */
import { runLoadCommand } from './cli.js';

runLoadCommand(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
