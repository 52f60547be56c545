/**
 * The engine's Holepunch modules, and node-core's only way to reach them: autobase, hyperbee,
 * corestore and hypercore come from vendor/engine.cjs, which scripts/vendor-engine.mjs bundles at
 * build time with the exact versions this package was tested with (`ENGINE_VERSIONS`). Bundled,
 * because npm resolves a plain dependency wherever the app's tree puts it: a hoisted autobase 6.5
 * next to an app's hyperbee 2.27 (which needs hypercore 11) crashed at open.
 *
 * The path is the same from src/engine and dist/engine: tests run the sources, apps the build.
 * Everything here is internal (no declarations are published): the engine is not node-core's API.
 */

import engine from '../../vendor/engine.cjs'
import type AutobaseModule from 'autobase'
import type HyperbeeModule from 'hyperbee'

/** @internal */
export const Autobase = engine.Autobase
/** @internal */
export type Autobase<V = any> = AutobaseModule<V>
/** @internal */
export type ApplyNode = AutobaseModule.ApplyNode

/** @internal */
export const Hyperbee = engine.Hyperbee
/** @internal */
export type Hyperbee = HyperbeeModule
/** @internal */
export type HyperbeeRange = HyperbeeModule.Range

/** @internal */
export const Corestore = engine.Corestore

/** @internal */
export const Hypercore = engine.Hypercore

/** What is bundled in vendor/engine.cjs: package name → version. @internal */
export const ENGINE_VERSIONS: Readonly<Record<string, string>> = engine.versions
