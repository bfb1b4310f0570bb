/*
 * gen_man: writes the man page (doc/slabcache.1) from the option table, at
 * build time, so the page and the flags the server accepts cannot disagree.
 */
#include <stdio.h>

#include "server/settings.h"

int main(void)
{
    settings_man(stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}
