export * from './order';
export * from './retention';
