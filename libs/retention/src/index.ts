export * from './retention.config';
export * from './metrics';
export * from './secure-delete.service';
export * from './recording-retention.service';
export * from './reconcile.service';
export * from './retention-report.service';
export * from './render';
export * from './retention.module';
