// The well-known symbols of explicit resource management (`using x = ...`,
// `await using`). Node 20.4+ defines them; an older Node 20 does not, and
// there they are the registry symbols Node's own code used before V8 had
// them, so an owner's dispose methods never end up under the key "undefined".
export const DISPOSE: typeof Symbol.dispose = Symbol.dispose ?? (Symbol.for('nodejs.dispose') as typeof Symbol.dispose);
export const ASYNC_DISPOSE: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? (Symbol.for('nodejs.asyncDispose') as typeof Symbol.asyncDispose);
