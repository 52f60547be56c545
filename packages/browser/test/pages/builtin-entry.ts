// A wrong entry for a browser: imports a Node built-in directly. The build test checks that it
// becomes a listed stub that throws when called.
import net from 'node:net'

export const connect = () => (net as unknown as () => unknown)()
