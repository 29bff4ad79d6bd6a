/* Fixture: verone rebuilt with another version string (see verone.c). */
#define VER_STRING "two"
#include "../verone/verone.c"
