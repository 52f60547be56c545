// Minimal types for random-access-memory 6.
// Kept because random-access-memory ships no types and there is no @types/random-access-memory
// (the @types/random-access-file and -storage packages cover the others). Used only inside this
// repository (tsconfig.base.json paths): published declarations use Hypha's StorageFunction.
declare class RAM {
  constructor(opts?: unknown)
  static reusable(): () => RAM
}
export = RAM
