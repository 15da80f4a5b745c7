import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConsoleBundle, consoleBundle } from './console-bundle';

/** Builds the console bundle once, at start; a bundle that does not build stops the gateway at boot. */
@Injectable()
export class ConsoleAssets implements OnModuleInit {
  private readonly logger = new Logger(ConsoleAssets.name);
  private bundle?: ConsoleBundle;
  private html = '';

  async onModuleInit(): Promise<void> {
    const started = Date.now();
    this.bundle = await consoleBundle();
    this.html = page(this.bundle['app.js'].hash, this.bundle['app.css'].hash);
    this.logger.log(`console bundle ready in ${Date.now() - started} ms`);
  }

  get page(): string {
    return this.html;
  }

  asset(name: string) {
    return this.bundle && (name === 'app.js' || name === 'app.css') ? this.bundle[name] : undefined;
  }
}

function page(jsHash: string, cssHash: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>Hotline console</title>
<link rel="stylesheet" href="/console/app.css?v=${cssHash}">
</head>
<body>
<div id="app"></div>
<noscript>The Hotline console needs JavaScript.</noscript>
<script src="/console/app.js?v=${jsHash}"></script>
</body>
</html>
`;
}
