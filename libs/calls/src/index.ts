export * from './records';
export * from './call.repository';
export * from './call.mapper';
export * from './typeorm-call.repository';
export * from './calls.module';
export * from './callback-numbers';
export * from './rescue-requests';
