// Minimal types for random-access-memory 6.
declare class RAM {
  constructor(opts?: unknown)
  static reusable(): () => RAM
}
export = RAM
