/* Fixture: a valid shared object that exports no tick_plugin_descriptor.
 * The daemon must refuse it naming the symbol and quoting dlerror(). */
__attribute__((visibility("default"))) int tick_fixture_nodesc(void);
__attribute__((visibility("default"))) int tick_fixture_nodesc(void) { return 42; }
