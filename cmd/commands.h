/* commands.h - the subcommands of the coderunner binary. */
#ifndef CODERUNNER_COMMANDS_H
#define CODERUNNER_COMMANDS_H

#include "config.h"

int cmd_serve(int argc, char **argv);
int cmd_run(int argc, char **argv);

/* Reads the rootfs manifest (ROOTFS.manifest.json, else the copy inside the
 * rootfs); NULL when absent. */
char *load_manifest(const char *rootfs);

#endif
