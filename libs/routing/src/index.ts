export * from './routing.store';
export * from './routing.scripts';
export * from './caller-location';
export * from './conference.state';
