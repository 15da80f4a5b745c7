export * from './verification';
export * from './privacy-records';
export * from './sms';
export * from './privacy-requests';
