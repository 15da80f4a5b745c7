export * from './verification';
export * from './privacy-records';
export * from './privacy-jobs';
export * from './sms';
