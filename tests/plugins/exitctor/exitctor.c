/* Fixture: a constructor that calls exit(0), as a plugin that "handles"
 * an error of its own by exiting. tickd must turn that into an error
 * (status 70), not a quiet exit 0 from -t or from a SIGHUP. */
#include <stdlib.h>
#include <tick/tick.h>

__attribute__((constructor)) static void exitctor_init(void)
{
    exit(0);
}

static int exitctor_start(tick_instance *in)
{
    (void)in;
    return 0;
}

TICK_PLUGIN(.name = "exitctor", .version = "1.0", .start = exitctor_start);
