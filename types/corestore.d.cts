// Minimal types for corestore 6: Hypha's tests and examples only open stores and replicate them.
declare class Corestore {
  constructor(storage: unknown, opts?: unknown)
  get(opts: unknown): any
  replicate(isInitiatorOrStream: boolean | unknown, opts?: unknown): any
  ready(): Promise<void>
  close(): Promise<void>
}
export = Corestore
