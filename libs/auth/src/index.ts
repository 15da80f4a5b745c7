export * from './principal';
export * from './token.service';
export * from './guards';
export * from './auth.module';
export * from './password';
export * from './staff.service';
export * from './sessions';
