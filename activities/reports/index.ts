export * from './cells';
export * from './exceptions-report';
export * from './files';
export * from './summary-report';
