// native.js's terminal: one readline on stdin shared by the passphrase prompt, the y/N questions of
// authorisation requests and the REPL, so that lines arriving at any moment go to the right one.
import readline from 'node:readline'

/**
 * The terminal: one readline on stdin. Lines go, in this order of priority, to a pending
 * `readLine()` (the passphrase), to the y/N question on screen, or to the REPL's queue — decided
 * when the line arrives, so a command typed before a request came in is never taken as the answer.
 * Output never tears the line being typed: in a terminal it is printed above it and the prompt is
 * redrawn with what was typed so far.
 */
export class Terminal {
  readonly tty = Boolean(process.stdin.isTTY && process.stdout.isTTY)
  private readonly rl: readline.Interface
  private readonly lineWaiters: ((line: string | null) => void)[] = []
  private readonly commands: string[] = []
  private wakeCommands: (() => void) | null = null
  private readonly questions: Question[] = []
  private ended = false
  private closed = false
  /** Whether the REPL prompt is shown (from the first `prompt()` until `quiet()`). */
  private prompting = false
  /** The person had started typing a line when the current question appeared: that line is a command. */
  private typingBeforeQuestion = false
  onInterrupt: () => void = () => process.exit(130)

  constructor() {
    this.rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: this.tty, prompt: 'hypha> ' })
    this.rl.on('line', (line) => this.onLine(line))
    this.rl.on('close', () => {
      this.ended = true
      this.closed = true
      for (const waiter of this.lineWaiters.splice(0)) waiter(null)
      this.wakeCommands?.()
    })
    this.rl.on('SIGINT', () => this.onInterrupt())
  }

  /** One line of output, above whatever the person is typing. */
  print(text: string): void {
    if (!this.tty || this.closed || !this.prompting) {
      process.stdout.write(`${text}\n`)
      return
    }
    readline.clearLine(process.stdout, 0)
    readline.cursorTo(process.stdout, 0)
    process.stdout.write(`${text}\n`)
    this.rl.prompt(true) // redraws the prompt and what was typed so far
  }

  /** The next line typed (null at the end of input), bypassing the REPL. */
  readLine(prompt: string): Promise<string | null> {
    this.print(prompt)
    return new Promise((resolve) => {
      if (this.ended) resolve(null)
      else this.lineWaiters.push(resolve)
    })
  }

  /** Shows a y/N question now, or after the ones already waiting. */
  ask(question: Question): void {
    this.questions.push(question)
    if (this.questions.length === 1) this.showQuestion()
  }

  /** The question no longer needs an answer (answered elsewhere, cancelled, expired). */
  withdraw(question: Question): void {
    const index = this.questions.indexOf(question)
    if (index === -1) return
    this.questions.splice(index, 1)
    if (index === 0) this.showQuestion()
  }

  /** REPL lines, in order, until the end of input. */
  async *lines(): AsyncGenerator<string> {
    for (;;) {
      const line = this.commands.shift()
      if (line !== undefined) {
        yield line
        continue
      }
      if (this.ended) return
      await new Promise<void>((resolve) => (this.wakeCommands = resolve))
      this.wakeCommands = null
    }
  }

  /** Shows the REPL prompt (in a terminal). */
  prompt(): void {
    if (!this.tty || this.closed) return
    this.prompting = true
    this.rl.prompt()
  }

  /** No more prompts (closing). */
  quiet(): void {
    this.prompting = false
  }

  close(): void {
    if (!this.closed) this.rl.close()
  }

  private showQuestion(): void {
    const current = this.questions[0]
    if (this.tty) this.rl.setPrompt(current ? '[y/N] ' : 'hypha> ')
    this.typingBeforeQuestion = Boolean(current && this.tty && this.rl.line.length > 0)
    if (current) {
      for (const note of current.notes) this.print(note)
      this.print(current.text)
    } else this.prompt()
  }

  private onLine(line: string): void {
    const waiter = this.lineWaiters.shift()
    if (waiter) return waiter(line)
    const question = this.questions[0]
    if (question && this.typingBeforeQuestion) {
      // Typed (at least in part) before the question appeared: a command, not the answer.
      this.typingBeforeQuestion = false
      this.commands.push(line)
      this.wakeCommands?.()
      this.print(question.text)
      return
    }
    if (question) {
      const answer = line.trim().toLowerCase()
      if (answer === 'y' || answer === 'yes' || answer === 'n' || answer === 'no' || answer === '') {
        this.questions.shift()
        question.answer(answer.startsWith('y'))
        this.showQuestion()
      } else {
        this.print(`Please answer y or n first. ${question.text}`)
      }
      return
    }
    this.commands.push(line)
    this.wakeCommands?.()
  }
}

export interface Question {
  /** Lines printed (once) just before the question when it is shown: its warnings. */
  notes: string[]
  text: string
  answer(yes: boolean): void
}
