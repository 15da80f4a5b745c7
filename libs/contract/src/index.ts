/**
 * One vocabulary for every app, lib and the console page: roles, risk levels, call statuses, the
 * disclosable fields and the live console's socket contract.
 *
 * Pure TypeScript with no imports outside this folder (no Node, Nest or TypeORM): the console's
 * browser bundle imports it too. contract.spec.ts keeps it that way.
 */
export * from './roles';
export * from './calls';
export * from './socket';
export * from './voice-legs';
export * from './ids';
