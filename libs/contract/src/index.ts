/**
 * One vocabulary for every app, lib and the console page: roles, risk levels, call statuses, the
 * disclosable fields, the live console's socket contract, the wrap-up categories, and the answers of
 * records that the console reads (statistics, oversight).
 *
 * Pure TypeScript with no imports outside this folder (no Node, Nest or TypeORM): the console's
 * browser bundle imports it too. contract.spec.ts keeps it that way.
 */
export * from './roles';
export * from './calls';
export * from './socket';
export * from './voice-legs';
export * from './ids';
export * from './call-records';
export * from './wrap-up';
export * from './stats';
export * from './oversight';
