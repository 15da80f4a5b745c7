import { join } from 'path';
import ts from 'typescript';
import { CONSOLE_DIR, buildConsoleBundle } from './console-bundle';

describe('the console bundle', () => {
  it('type-checks against the shared contract (esbuild does not check types)', () => {
    const configPath = join(CONSOLE_DIR, 'tsconfig.json');
    const config = ts.getParsedCommandLineOfConfigFile(
      configPath,
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    );
    const program = ts.createProgram({ rootNames: config!.fileNames, options: config!.options });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file
        ? `${d.file.fileName.replace(CONSOLE_DIR, 'console')}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1} `
        : '';
      return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
    });
    expect(problems).toEqual([]);
  }, 60_000);

  it('bundles the page script and its styles, and nothing Node-only', async () => {
    const bundle = await buildConsoleBundle();
    const js = bundle['app.js'].body.toString('utf8');
    expect(js).toContain('Sign in');
    expect(js).not.toMatch(/require\(["'](fs|crypto|net|ioredis)["']\)/);
    expect(bundle['app.css'].body.toString('utf8')).toContain(':focus-visible');
  });
});
