/**
 * The call record without its content: everything here reads and writes metadata only and
 * imports nothing that holds a key or decrypts (no @hotline/crypto). The gateway, which holds no
 * content key, needs only this part of libs/calls.
 */
export * from './open-call';
export * from './call.model';
export * from './retention-policy';
export * from './legal-holds';
export * from './call-lifecycle';
export * from './call-conference';
export * from './call-legs';
export * from './caller-records';
export * from './call-recordings';
export * from './call-retention';
export * from './destruction-steps';
export * from './hourly-stats';
export * from './oversight';
export * from './call-records.module';
export * from './callbacks';
export * from './handover';
export * from './complaints';
