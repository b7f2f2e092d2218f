/**
 * The `conduit` command line: a thin layer over the engine service.
 * Server commands (list, describe, start, stop) talk to the HTTP API of \`conduit run\`:
  --api.http.address HOST:PORT (default :8080, i.e. 127.0.0.1:8080; also CONDUIT_API_HTTP_ADDRESS or conduit.yaml),
  the token from CONDUIT_API_HTTP_AUTH_TOKEN or --api.http.auth.token-file FILE. Server unreachable: exit 3.
Exit codes: 0 ok, 1 internal, 2 invalid input, 3 environment; a second
 * SIGINT/SIGTERM exits with 130/143.
 */
import { ENGINE_PARAMS } from '../config/engine-config.js';
import { Code, ExitCode } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import { checkFlags, parseArgs } from './args.js';
import { clientCommand, isClientCommand } from './commands/client/commands.js';
import { DOCTOR_FLAGS, doctorCommand } from './commands/doctor.js';
import { initCommand } from './commands/init.js';
import { PROCESSORS_TEST_FLAGS, processorsTestCommand } from './commands/processors-test.js';
import { quickstartCommand } from './commands/quickstart.js';
import { runCommand } from './commands/run.js';
import { schemaCommand } from './commands/schema.js';
import { validateCommand } from './commands/validate.js';
import { Output } from './output.js';
import { VERSION } from '../version.js';

const GLOBAL = ['json', 'quiet', 'no-color', 'help'];

const HELP = `conduit ${VERSION}: move every change from your data stores to other systems, in real time.

Usage: conduit <command> [flags]

Commands:
  run                         run the engine with the pipelines in --pipelines.path
  quickstart [--records N]    a generator → log demo on the in-memory store
  init [--path DIR]           create conduit.yaml and the pipelines/ folder
  doctor [--check NAME[,NAME…]] [--deep] [--require-server]
                              would "run" start here? checks settings, pipeline files, store, port, plugins
  pipelines validate <path>   check pipeline files offline
  pipelines schema            print the JSON Schema of pipeline files (for editors)
  pipelines list [--name REGEX]
                              list the pipelines of the running server
  pipelines describe ID       a pipeline: its state, error and connectors
  pipelines start ID          start a pipeline
  pipelines stop ID [--force] stop a pipeline (drain and checkpoint; --force drops what is in flight)
  pipelines inspect ID [--records N [--connector ID | --processor ID [--out]] [--timeout 30s]]
                              its status and stages; with --records, N live records (--json: one JSON each)
  pipelines dlq ID [--limit N]
                              the last records the pipeline failed (to the DLQ, or stopping it), newest first
  pipelines export ID         the whole pipeline as a pipeline file (secrets as ***; --json: the API's answer)
  connectors list [--pipeline-id ID]
                              list the connectors of the running server
  connectors describe ID      a connector: its settings (secrets redacted) and position
  connector-plugins list [--name REGEX] | describe NAME
                              connector plugins and their parameters
  processor-plugins list [--name REGEX] | describe NAME
                              processor plugins and their parameters
  processors test <file> --input records.jsonl [--processor ID[,ID…]] [--pipeline ID]
                              run processors of a pipeline file on sample records (OpenCDC JSON lines)
  version                     print the version

Global flags: --json (a JSON envelope on stdout), --quiet, --help
Run flags: every engine setting as --key value, e.g. --db.type sqlite --pipelines.path ./pipelines
  (also CONDUIT_DB_TYPE=... or conduit.yaml); --exit-after 30s stops after a while.
Server commands (list, describe, start, stop, dlq, inspect, export) talk to the HTTP API of \`conduit run\`:
  --api.http.address HOST:PORT (default :8080, i.e. 127.0.0.1:8080; also CONDUIT_API_HTTP_ADDRESS or conduit.yaml),
  the token from CONDUIT_API_HTTP_AUTH_TOKEN or --api.http.auth.token-file FILE. Server unreachable: exit 3.
Exit codes: 0 ok, 1 internal error, 2 invalid input, 3 environment (store or port), 130/143 second signal.
`;

export async function main(argv: readonly string[]): Promise<number> {
  let out = new Output({
    json: argv.includes('--json'),
    quiet: argv.includes('--quiet') || argv.includes('-q'),
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  });
  let command = 'conduit';
  try {
    const { positionals, flags } = parseArgs(argv);
    out = new Output({ ...out.opts, json: flags['json'] === 'true', quiet: flags['quiet'] === 'true' });
    const [cmd, sub, arg] = positionals;
    command = cmd ?? 'help';
    if (cmd === undefined && flags['version'] === 'true') {
      checkFlags(flags, [...GLOBAL, 'version']);
      return out.success('version', VERSION, { version: VERSION, node: process.version }, `conduit ${VERSION}`);
    }
    if (flags['help'] === 'true' || cmd === undefined || cmd === 'help') {
      process.stdout.write(HELP);
      return ExitCode.Ok;
    }
    switch (cmd) {
      case 'version':
        checkFlags(flags, GLOBAL);
        return out.success('version', VERSION, { version: VERSION, node: process.version }, `conduit ${VERSION}`);
      case 'run':
        checkFlags(flags, [...GLOBAL, ...Object.keys(ENGINE_PARAMS), 'exit-after']);
        return await runCommand(flags, out);
      case 'quickstart':
        checkFlags(flags, [...GLOBAL, 'records']);
        return await quickstartCommand(flags, out);
      case 'doctor':
        checkFlags(flags, [...GLOBAL, ...Object.keys(ENGINE_PARAMS), ...DOCTOR_FLAGS]);
        return await doctorCommand(flags, out);
      case 'init':
        checkFlags(flags, [...GLOBAL, 'path']);
        return await initCommand(flags, out);
      case 'pipelines':
      case 'pipeline':
        command = `pipelines ${sub ?? ''}`.trim();
        if (sub === 'validate') {
          checkFlags(flags, GLOBAL);
          return await validateCommand(arg, out);
        }
        if (sub === 'schema') {
          checkFlags(flags, GLOBAL);
          return schemaCommand(out);
        }
        if (isClientCommand('pipelines', sub)) return await clientCommand('pipelines', sub, arg, flags, out, GLOBAL);
        throw new ConduitError(Code.EngineConfigInvalid, `unknown command "pipelines ${sub ?? ''}"`, {
          suggestion:
            'use "conduit pipelines" with validate, schema (offline) or list, describe, start, stop, dlq (against "conduit run")',
        });
      case 'connectors':
      case 'connector':
        command = `connectors ${sub ?? ''}`.trim();
        return await clientCommand('connectors', sub, arg, flags, out, GLOBAL);
      case 'connector-plugins':
      case 'processor-plugins':
        command = `${cmd} ${sub ?? ''}`.trim();
        return await clientCommand(cmd, sub, arg, flags, out, GLOBAL);
      case 'processors':
      case 'processor':
        command = `processors ${sub ?? ''}`.trim();
        if (sub === 'test') {
          checkFlags(flags, [...GLOBAL, ...PROCESSORS_TEST_FLAGS]);
          return await processorsTestCommand(arg, flags, out);
        }
        throw new ConduitError(Code.EngineConfigInvalid, `unknown command "processors ${sub ?? ''}"`, {
          suggestion: 'use "conduit processors test <pipeline-file> --input records.jsonl --processor ID"',
        });
      default:
        throw new ConduitError(Code.EngineConfigInvalid, `unknown command "${cmd}"`, {
          suggestion: 'see "conduit --help" for the commands',
        });
    }
  } catch (e) {
    return out.failure(command, e);
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
