/* kind: plugin — the example is a whole plugin, compiled as it is.
 * module: hello
 * config: [plugin:greeter]
 * config: module = hello
 * config: who = world
 */
@PART0@
