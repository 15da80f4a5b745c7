export * from './open-call';
