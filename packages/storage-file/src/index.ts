import type { StorageFunction } from '@hypha/node-core'

/**
 * Files in `dir` (random-access-file), Node only. It is async because random-access-file is
 * loaded with a dynamic import: importing @hypha/node-core in a browser bundle then never pulls
 * in `fs`. Like Hypercore's own default, the `oplog` file of each core is locked, so two
 * processes cannot open the same directory; tree, bitfield and data files are sparse.
 */
export async function fileStorage(dir: string): Promise<StorageFunction> {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('dir must be a non-empty path')
  const { default: RandomAccessFile } = await import('random-access-file')
  return (name: string) =>
    new RandomAccessFile(name, {
      directory: dir,
      lock: isFile(name, 'oplog'),
      sparse: isFile(name, 'data') || isFile(name, 'bitfield') || isFile(name, 'tree')
    })
}

function isFile(name: string, file: string): boolean {
  return name === file || name.endsWith('/' + file)
}
