export * from './verification';
export * from './privacy-records';
export * from './sms';
export * from './privacy-requests';
export * from './sms-caps';
export * from './calling-code';
export * from './deletion-request-book';
