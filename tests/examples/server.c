/* kind: plugin — the example is a whole plugin, compiled as it is: a
 * line server on 127.0.0.1:0.
 * module: hello
 * config: [plugin:hello]
 * config: module = hello
 */
@PART0@
