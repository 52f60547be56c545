// A built example program (examples/dist/*.js) run as a child process: its stdin is typed into,
// its stdout read line by line. Shared by the command-line and web tests.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync } from 'node:fs'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll } from 'vitest'

export const DIST = fileURLToPath(new URL('../dist/', import.meta.url))

/** Rewrites the command line, e.g. to run the program inside a network namespace. */
export type Wrap = (command: string, argv: string[]) => [string, string[]]

/** Every program started and not yet cleaned up: kill them in afterEach. */
export const running = new Set<Program>()

export class Program {
  readonly lines: string[] = []
  stderr = ''
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  private readonly child: ChildProcessWithoutNullStreams
  private readonly listeners = new Set<() => void>()
  private hasExited = false

  constructor(
    readonly label: string,
    script: string,
    args: string[],
    wrap: Wrap = (command, argv) => [command, argv]
  ) {
    const [command, argv] = wrap(process.execPath, [DIST + script, ...args])
    this.child = spawn(command, argv, {
      env: { ...process.env, HYPHA_FAST_KDF: '1' },
      stdio: ['pipe', 'pipe', 'pipe']
    })
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.lines.push(line)
      this.notify()
    })
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString()
    })
    this.child.stdin.on('error', () => {}) // typing into a program that already exited
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.hasExited = true
        this.notify()
        resolve({ code, signal })
      })
    })
    running.add(this)
  }

  get output(): string {
    return this.lines.join('\n')
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`)
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal)
  }

  /** The first line at or after `from` that matches; fails if the program exits first. */
  async waitFor(pattern: RegExp, from = 0): Promise<{ match: RegExpExecArray; index: number }> {
    for (;;) {
      for (let i = from; i < this.lines.length; i++) {
        const match = pattern.exec(this.lines[i]!)
        if (match) return { match, index: i }
      }
      if (this.hasExited) {
        throw new Error(`${this.label} exited before printing ${pattern}:\n${this.output}\n--- stderr ---\n${this.stderr}`)
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.listeners.delete(wake)
          resolve()
        }
        this.listeners.add(wake)
      })
    }
  }

  /** Types a command and returns the first matching line it printed. */
  async command(line: string, reply: RegExp): Promise<RegExpExecArray> {
    const from = this.lines.length
    this.send(line)
    return (await this.waitFor(reply, from)).match
  }

  /** Reads `key` with the REPL's `get` until it has a value (replication is asynchronous). */
  async getEventually(key: string): Promise<string> {
    const reply = new RegExp(`^${escapeRegExp(key)}(?: = (.*)|: not found)$`)
    for (;;) {
      const match = await this.command(`get ${key}`, reply)
      if (match[1] !== undefined) return match[1]
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  async kill(): Promise<void> {
    if (!this.hasExited) this.child.kill('SIGKILL')
    await this.exited
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener()
  }
}


export const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * The hooks every program-spawning test file needs: after each test, kill what it started and, on
 * failure (or with HYPHA_CLI_TEST_LOG=1), show what each program printed; before all, check the
 * built programs exist.
 */
export function usePrograms(files: string[]): void {
  afterEach(async (context) => {
    await Promise.all([...running].map((p) => p.kill()))
    if (context.task.result?.state === 'fail' || process.env.HYPHA_CLI_TEST_LOG) {
      for (const p of running) console.log(`--- ${p.label} ---\n${p.output}\n${p.stderr ? `--- ${p.label} stderr ---\n${p.stderr}` : ''}`)
    }
    running.clear()
  })
  beforeAll(() => {
    for (const file of files) {
      if (!existsSync(DIST + file)) throw new Error(`examples/dist/${file} is missing: run \`npx tsc -b examples\` first`)
    }
  })
}
