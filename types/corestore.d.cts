// Minimal types for corestore 6: Hypha's tests and examples only open stores and replicate them.
// Kept because corestore 6 ships no types and there is no @types/corestore. Used only inside this
// repository (tsconfig.base.json paths): published declarations type stores as `any` or as
// Hypha's own interfaces.
declare class Corestore {
  constructor(storage: unknown, opts?: unknown)
  get(opts: unknown): any
  replicate(isInitiatorOrStream: boolean | unknown, opts?: unknown): any
  ready(): Promise<void>
  close(): Promise<void>
}
export = Corestore
