// The approval-checkpoint domain: policy schemas, decision shapes and the pure rules workflows call.
export * from './policy';
export * from './decision';
export * from './rules';
export * from './resubmission';
export * from './legacy';
export * from './person-keys';
export * from './exception-gate';
export * from './delegation';
