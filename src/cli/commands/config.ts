import { ConfigError, type ConfigReport } from '../../config';
import { settingsMarkdownTable } from '../../config/settings';
import { parseCommand } from '../args';
import { print, UsageError, type Io } from '../output';

const CONFIG_HELP = `licensor config — the configuration

  licensor config check [--config <file>] [--json]
  licensor config settings

check: reads the environment and the configuration file (--config, or LICENSOR_CONFIG), as
\`licensor serve\` would. A variable that is set and not empty wins over the file.
Exit 0 with the effective configuration, or 2 with every problem, one per line.
settings: every setting with its meaning and default, as a Markdown table (the README's).`;

/** `licensor config check`: the start-up validation, without starting anything. */
export async function configCommand(argv: string[], report: () => ConfigReport, io: Io): Promise<number> {
  const { values, positionals } = parseCommand(argv, {});
  if (values.help || positionals.length === 0) {
    io.out(CONFIG_HELP);
    return values.help ? 0 : 2;
  }
  if (positionals.length === 1 && positionals[0] === 'settings') {
    io.out(settingsMarkdownTable());
    return 0;
  }
  if (positionals[0] !== 'check' || positionals.length > 1)
    throw new UsageError(`unknown config command "${positionals.join(' ')}" (try: licensor config check)`);
  let result: ConfigReport;
  try {
    result = report();
  } catch (err) {
    if (!(err instanceof ConfigError) || !values.json) throw err;
    io.out(JSON.stringify({ valid: false, problems: err.problems }, null, 2));
    return 2;
  }
  // Every setting as an operator writes it (the file's key), secrets masked: config/settings.ts.
  const config = result.shown;
  print(io, values.json ?? false, { valid: true, file: result.file, sources: result.sources, config }, () =>
    [
      `configuration is valid${result.file ? ` (file: ${result.file})` : ' (no configuration file)'}`,
      result.sources.length > 0
        ? `set: ${result.sources.map((s) => `${s.name} (${s.from === 'file' ? `file: ${s.fileKey}` : 'environment'})`).join(', ')}`
        : 'set: nothing (every setting has its default)',
      JSON.stringify(config, null, 2),
    ].join('\n'),
  );
  return 0;
}
