export * from './routing.store';
export * from './routing.scripts';
export * from './conference.state';
