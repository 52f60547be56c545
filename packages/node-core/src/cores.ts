/** Opening a core of a Corestore by key for a moment: a session that is closed again after `use`. */
export async function withCore<T>(store: { get(options: { key: Uint8Array }): any }, key: Uint8Array, use: (core: any) => Promise<T>): Promise<T> {
  const core = store.get({ key })
  try {
    await core.ready()
    return await use(core)
  } finally {
    await core.close().catch(() => {})
  }
}
