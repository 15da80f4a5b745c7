export * from './verification';
export * from './privacy-records';
export * from './sms';
