// The one module that imports the real sodium-javascript: the browser build maps every other
// import of it (and of sodium-native) to the shim, so this path is the build's exception.
import sodiumJs from 'sodium-javascript'

export default sodiumJs
