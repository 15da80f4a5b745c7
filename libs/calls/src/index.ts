export * from './open-call';
export * from './call.model';
export * from './call.repository';
export * from './retention-policy';
export * from './call.mapper';
export * from './typeorm-call.repository';
export * from './calls.module';
