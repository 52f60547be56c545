import type { StorageFunction } from '@hypha/node-core'

/**
 * Files in `dir` (random-access-file), Node only. It is async because random-access-file is
 * loaded with a dynamic import: importing @hypha/node-core in a browser bundle then never pulls
 * in `fs`. Like Corestore's own default for a directory, its `primary-key` file is locked for as
 * long as the node is open, so a second node (in this process or another) on the same directory
 * fails to open (`ready()` rejects with `ERR_STORAGE`, the `ELOCKED` error as `cause`) instead of
 * making a second database beside the first; the `oplog` file of each core is locked too, as in
 * Hypercore's default. Tree, bitfield and data files are sparse.
 */
export async function fileStorage(dir: string): Promise<StorageFunction> {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('dir must be a non-empty path')
  const { default: RandomAccessFile } = await import('random-access-file')
  return (name: string) =>
    new RandomAccessFile(name, {
      directory: dir,
      lock: name === 'primary-key' || isFile(name, 'oplog'),
      sparse: isFile(name, 'data') || isFile(name, 'bitfield') || isFile(name, 'tree')
    })
}

function isFile(name: string, file: string): boolean {
  return name === file || name.endsWith('/' + file)
}
