/* kind: plugin — the example is a whole plugin, compiled as it is: it
 * leases 127.0.0.1:0 and closes whatever it accepts.
 * module: srv
 * config: [plugin:srv]
 */
@PART0@
