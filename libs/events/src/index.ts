export * from './console-events';
export * from './channels';
