/* kind: plugin — the example is a whole plugin, compiled as it is.
 * module: greeter
 * config: [plugin:greeter]
 * config: who = "the ; world"
 * config: every = 100ms
 * config: times = 2
 */
@PART0@
