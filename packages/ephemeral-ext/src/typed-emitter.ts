// An event emitter typed by an event map, whose declarations stand alone: the runtime is the
// `events` EventEmitter (Node's own, or the `events` package in a browser bundle), but the
// members are declared here, so the published .d.ts never imports 'events' and a browser
// project without @types/node still sees `on`, `once`, `emit`, ... typed by event name.
import { EventEmitter } from 'events'

/**
 * An event map: each event name to the tuple of arguments its listeners get, e.g.
 * `{ update: [info: UpdateInfo]; error: [error: Error] }`.
 */
export type EventMap<Events> = { [K in keyof Events]: any[] }

/** A listener of `Events[K]`. */
export type TypedListener<Events extends EventMap<Events>, K extends keyof Events> = (...args: Events[K]) => void

/**
 * The members of the `events` EventEmitter, checked against `Events`: an unknown event name or a
 * listener that takes the wrong arguments is a type error.
 */
export interface TypedEmitter<Events extends EventMap<Events>> {
  /** Adds `listener` for `event` (same as {@link on}). */
  addListener<K extends keyof Events>(event: K, listener: TypedListener<Events, K>): this
  /** Adds `listener` for `event`. */
  on<K extends keyof Events>(event: K, listener: TypedListener<Events, K>): this
  /** Adds `listener` for the next `event` only. */
  once<K extends keyof Events>(event: K, listener: TypedListener<Events, K>): this
  /** Adds `listener` for `event` before the ones already added. */
  prependListener<K extends keyof Events>(event: K, listener: TypedListener<Events, K>): this
  /** Adds `listener` for the next `event` only, before the ones already added. */
  prependOnceListener<K extends keyof Events>(event: K, listener: TypedListener<Events, K>): this
  /** Removes `listener` from `event` (same as {@link off}). */
  removeListener<K extends keyof Events>(event: K, listener: TypedListener<Events, K>): this
  /** Removes `listener` from `event`. */
  off<K extends keyof Events>(event: K, listener: TypedListener<Events, K>): this
  /** Removes every listener of `event`, or of every event. */
  removeAllListeners(event?: keyof Events): this
  /** Calls the listeners of `event` with `args`; true if there were any. */
  emit<K extends keyof Events>(event: K, ...args: Events[K]): boolean
  /** How many listeners `event` has. */
  listenerCount(event: keyof Events): number
  /** A copy of the listeners of `event`. */
  listeners<K extends keyof Events>(event: K): Array<TypedListener<Events, K>>
  /** A copy of the listeners of `event`, including the `once` wrappers. */
  rawListeners<K extends keyof Events>(event: K): Array<TypedListener<Events, K>>
  /** The events that have listeners. */
  eventNames(): Array<keyof Events>
  /** Sets the listener count above which a leak warning is printed (0: never). */
  setMaxListeners(n: number): this
  /** The listener count above which a leak warning is printed. */
  getMaxListeners(): number
}

/** The constructor of {@link TypedEmitter}: `class X extends TypedEmitter<XEvents> {}`. */
export interface TypedEmitterConstructor {
  new <Events extends EventMap<Events>>(): TypedEmitter<Events>
}

/**
 * The `events` EventEmitter, typed by an event map. Extend it as
 * `class X extends TypedEmitter<{ ready: []; data: [bytes: Uint8Array] }> {}`.
 */
export const TypedEmitter: TypedEmitterConstructor = EventEmitter as unknown as TypedEmitterConstructor
