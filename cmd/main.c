/* main.c - the coderunner binary: dispatch to a subcommand.
 * The same binary is re-executed as every job's pid 1 (`__sandbox-init`),
 * so the sandbox needs no second file on the host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/sandbox_init.h"
#include "commands.h"
#include "version.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: coderunner COMMAND [OPTIONS]\n\n"
		"Runs untrusted Python in fresh Linux namespaces over a read-only rootfs.\n\n"
		"Commands:\n"
		"  serve     the HTTP API (/api/run, /mcp, probes, /metrics, /api/info)\n"
		"  run       run one FILE.py locally and print the JSON result\n"
		"  doctor    check that this host can run jobs with limits, and say how to fix it\n"
		"  version   print the version\n"
		"  help      this text; `coderunner COMMAND --help` for a command's options\n");
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "__sandbox-init") == 0)
		return sandbox_init_main(argc, argv);
	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("coderunner %s\n", CODERUNNER_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 2, argv + 2);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (strcmp(argv[1], "doctor") == 0)
		return cmd_doctor(argc - 2, argv + 2);
	fprintf(stderr, "coderunner: unknown command \"%s\"\n\n", argv[1]);
	usage(stderr);
	return 2;
}
